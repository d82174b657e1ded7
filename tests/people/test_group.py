"""Grouping descriptors: nearest, pairs under a threshold, Chinese whispers with fixed labels."""

from __future__ import annotations

import numpy as np

from shashin.people.group import chinese_whispers, nearest, pairs_under


def people(count: int, faces: int, spread: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    generator = np.random.default_rng(seed)
    centres = generator.normal(size=(count, 128)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True) / 1.0  # people ~1.4 apart
    labels = np.repeat(np.arange(count), faces)
    noise = generator.normal(scale=spread / np.sqrt(128), size=(count * faces, 128)).astype(np.float32)
    return centres[labels] + noise, labels


def test_nearest_matches_a_brute_force_scan() -> None:
    vectors, _ = people(20, 5, 0.3)
    index, distance = nearest(vectors[:7], vectors[7:])
    brute = np.linalg.norm(vectors[:7, None, :] - vectors[None, 7:, :], axis=2)
    assert (index == brute.argmin(axis=1)).all()
    assert np.allclose(distance, brute.min(axis=1), atol=1e-4)
    empty_index, empty_distance = nearest(vectors[:2], vectors[:0])
    assert (empty_index == -1).all() and np.isinf(empty_distance).all()


def test_chinese_whispers_finds_the_people_and_keeps_fixed_labels() -> None:
    vectors, truth = people(12, 6, 0.25)
    i, j, d = pairs_under(vectors, 0.5)
    labels = chinese_whispers(len(vectors), i, j, d)
    for person in range(12):  # one group per person, no group across two people
        assert len(set(labels[truth == person].tolist())) == 1
    assert len(set(labels.tolist())) == 12
    fixed = np.full(len(vectors), -1)
    fixed[0] = 0  # a confirmed face of person 0
    labels = chinese_whispers(len(vectors), i, j, d, fixed=fixed)
    assert labels[0] == 0 and (labels[truth == 0] == 0).all()


def test_a_face_with_nobody_close_stays_alone() -> None:
    vectors, _ = people(5, 1, 0.0)
    i, j, d = pairs_under(vectors, 0.5)
    assert len(i) == 0
    assert len(set(chinese_whispers(len(vectors), i, j, d).tolist())) == 5


def test_coarse_pairs_find_what_the_exact_scan_finds() -> None:
    from shashin.people import group

    vectors, truth = people(600, 8, 0.25, seed=4)
    exact = group.pairs_between(vectors, vectors, 0.5, upper=True)
    coarse = group._coarse_pairs(vectors, 0.5)
    found = set(zip(coarse[0].tolist(), coarse[1].tolist(), strict=True))
    wanted = set(zip(exact[0].tolist(), exact[1].tolist(), strict=True))
    assert found <= wanted and len(found) >= 0.99 * len(wanted)
    labels = group.chinese_whispers(len(vectors), *coarse)
    assert all(len(set(labels[truth == person].tolist())) == 1 for person in range(600))
