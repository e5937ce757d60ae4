"""Human viewer populations (see ``humans``)."""

from engine.simulate.populations.humans import POPULATIONS, PopulationSpec, build_human

__all__ = ["POPULATIONS", "PopulationSpec", "build_human"]
