# The chaos suite (tests/chaos/chaos.py): faults injected into real rollouts of polytope.core.container, on an
# engine of its own in the network namespace pt-chaos (never the main engine), and checks of the recovery.
# `make chaos` runs the full seeded set; `make test` runs a few of them (chaos-small).
CHAOS_SEED         ?= 1
CHAOS_FAULTS       ?= 40
CHAOS_SMALL_FAULTS ?= 6

.PHONY: chaos chaos-small
TEST_STEPS += chaos-small

chaos: setup engine images
	@$(BIN)/python tests/chaos/chaos.py --seed $(CHAOS_SEED) --faults $(CHAOS_FAULTS)

chaos-small: setup engine images
	@$(BIN)/python tests/chaos/chaos.py --seed $(CHAOS_SEED) --faults $(CHAOS_SMALL_FAULTS)
