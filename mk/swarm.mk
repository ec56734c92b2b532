# The 3-node Swarm test rig (scripts/swarm.sh): engines in the network namespaces pt-swarm-1..3.
#   swarm        start it (idempotent)       swarm-down   remove it

.PHONY: swarm swarm-down

swarm: engine images
	@scripts/swarm.sh up

swarm-down:
	@scripts/swarm.sh down

# N Swarm services, polytope.core.container against community.docker.docker_swarm_service (bench/swarm.py);
# BENCH_SWARM_SIZE (10) services, BENCH_SWARM_REPS (1) repetitions
.PHONY: bench-swarm
bench-swarm: setup engine images
	@$(BIN)/python bench/swarm.py
