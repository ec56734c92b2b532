# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The containers backend: the replicas of a spec as containers on one engine.

mapping (create bodies, the fingerprint, drift), replicas (what each replica needs), provision (mounts and
datasets on the engine), lock (runs take turns), networks and inspection (what container_info reads). The
rollout package drives it.
"""
