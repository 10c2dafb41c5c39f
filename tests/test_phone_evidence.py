"""lab.phone_evidence: phone posteriors from pocketsphinx's lattice, on real speech."""
import numpy as np

from lab import prepare
from lab.dataset import grid_clip
from lab.phone_evidence import lattice_evidence
from studio.phonemes import PHONE_INDEX, PHONES, SILENCE


def test_lattice_posteriors_are_distributions_led_by_their_own_best_path(shared_data):
    data = prepare.build(grid_clip("bbaf2n"))
    n = len(data.opening)
    best, posteriors = lattice_evidence(data.samples, n)
    assert best.shape == (n,) and posteriors.shape == (n, len(PHONES))
    assert np.allclose(posteriors.sum(axis=1), 1)
    assert np.mean(posteriors.argmax(axis=1) == best) > 0.6
    assert np.mean(best != PHONE_INDEX[SILENCE]) > 0.3  # phones heard over the words
    assert np.mean(posteriors.max(axis=1) < 0.9) > 0.1  # and real alternatives where unsure
