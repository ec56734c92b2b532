# The 3-node Swarm test rig (scripts/swarm.sh): engines in the network namespaces pt-swarm-1..3.
#   swarm        start it (idempotent)       swarm-down   remove it

.PHONY: swarm swarm-down

swarm: engine images
	@scripts/swarm.sh up

swarm-down:
	@scripts/swarm.sh down
