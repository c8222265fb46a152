"""Baselines: simpler model families (linear, nearest neighbours, kernel machines with the
network's own NTK/NNGP, random features, boosted trees) fitted on the subject's own data and
compared with the network on the test split by a paired test."""

from occamlab.probes.baselines.families import FAMILIES, Family, mlp_architecture
from occamlab.probes.baselines.paired import PairedTest, mcnemar, paired_loss_test
from occamlab.probes.baselines.probe import BaselinesResult, BaselinesSpec, baselines

__all__ = [
    "FAMILIES",
    "BaselinesResult",
    "BaselinesSpec",
    "Family",
    "PairedTest",
    "baselines",
    "mcnemar",
    "mlp_architecture",
    "paired_loss_test",
]
