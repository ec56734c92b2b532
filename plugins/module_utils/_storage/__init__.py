# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a replica's files come from and go to, for both backends: the five mount sources (mounts), the
dataset store (datasets, dataset_admin), safe archives, content digests of local trees and copies of
controller directories on a target.
"""
