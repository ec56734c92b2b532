# The docs site, Galaxy's import checks and the execution-environment check, each run by `make test`:
#   docs           build the HTML docs site into build/docs/html and check it (scripts/docs.sh)
#   galaxy-check   galaxy-importer on the tarball `ansible-galaxy collection build` makes (scripts/galaxy-check.sh)
#   ee-check       ansible-builder introspect and create for meta/execution-environment.yml (scripts/ee-check.sh)
# Their tools live in .venv-docs (requirements-docs.txt, scripts/docs-venv.sh).

.PHONY: docs galaxy-check ee-check docs-clean docs-distclean
TEST_STEPS += docs galaxy-check ee-check

docs: setup
	@scripts/docs.sh

galaxy-check: setup
	@scripts/galaxy-check.sh

ee-check: setup
	@scripts/ee-check.sh

# the guide pages docs/site/pages.py writes into the tree (build/ goes with `make clean` itself)
clean: docs-clean
docs-clean:
	rm -rf docs/docsite/rst

distclean: docs-distclean
docs-distclean:
	rm -rf .venv-docs
