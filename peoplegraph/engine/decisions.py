"""Human decisions as constraints on the machine's clusters, so that a re-run never undoes them.

The linking layer records decisions about faces (never about cluster ids, which a re-run renumbers) and
hands them here as indices into the faces being clustered:

- confirmed: the face is this person (must-link: all faces confirmed for one person end in one cluster,
  and faces of two people never share one);
- removed: the face is not this person (cannot-link: it never ends in that person's cluster);
- ignored: the face is a background extra, crew: it never seeds or joins a cluster.

A confirmed identity is a person id or an unnamed group ("group:N", `is_group`): faces an editor merged or
split apart before naming them are must-linked (and cannot-linked) the same way.

`constrained_labels` takes the machine's labels (engine/cluster.py) and applies them: each person takes
the machine cluster that holds most of their confirmed faces (people with more confirmed faces choose
first), a person whose cluster another already took gets a new one, confirmed faces elsewhere move to
their person's cluster, removed faces found in that cluster leave it, ignored faces leave every cluster.
Faces nobody decided about stay where the machine put them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from peoplegraph.engine.cluster import UNCLUSTERED, relabel_keeping_unclustered

GROUP_PREFIX = "group:"
HUMAN_METHODS = ("confirmed", "imported")  # decisions an editor (or an import) made, not auto-matching


@dataclass(frozen=True)
class Decisions:
    confirmed: Mapping[int, str] = field(default_factory=dict)  # face index -> person id (or group)
    removed: Mapping[int, frozenset[str]] = field(default_factory=dict)  # face index -> people (groups) it is not
    ignored: frozenset[int] = frozenset()  # face indices

    def validate(self, faces: int) -> None:
        for name, indices in (("confirmed", self.confirmed), ("removed", self.removed), ("ignored", self.ignored)):
            bad = [i for i in indices if not 0 <= int(i) < faces]
            if bad:
                raise ValueError(f"{name}: face indices {bad[:5]} outside 0..{faces - 1}")
        both = [i for i, person in self.confirmed.items() if person in self.removed.get(i, ())]
        if both:
            raise ValueError(f"confirmed/removed: faces {both[:5]} are both confirmed as and removed from a person")


def constrained_labels(labels: np.ndarray, decisions: Decisions, renumber: bool = True,
                       first_new_label: int = 0) -> tuple[np.ndarray, dict[int, str]]:
    """The machine's labels with the decisions applied, and the person of each cluster that holds confirmed
    faces. Renumbered 0..K-1 by decreasing size (-1 stays), or with `renumber` False every label kept and a
    person's new cluster numbered after the highest one, and at least `first_new_label` (a `missing` run
    changes no cluster id; a run over part of a project passes the project's next free id)."""
    out = np.asarray(labels, np.int64).copy()
    decisions.validate(len(out))
    faces_of: dict[str, list[int]] = {}
    for face, person in decisions.confirmed.items():
        faces_of.setdefault(person, []).append(int(face))
    next_label = max(int(out.max(initial=UNCLUSTERED)) + 1, int(first_new_label))
    taken: dict[int, str] = {}
    for person in sorted(faces_of, key=lambda p: (-len(faces_of[p]), p)):
        votes = Counter(int(out[f]) for f in faces_of[person] if out[f] != UNCLUSTERED and int(out[f]) not in taken)
        if votes:
            label = max(votes, key=lambda lab: (votes[lab], -lab))
        else:
            label, next_label = next_label, next_label + 1
        taken[label] = person
        out[faces_of[person]] = label
    label_of = {person: label for label, person in taken.items()}
    _follow_their_person(labels, out, decisions, label_of)
    for face, people in decisions.removed.items():
        if any(out[face] == label_of.get(person) for person in people):
            out[face] = UNCLUSTERED
    if decisions.ignored:
        out[list(decisions.ignored)] = UNCLUSTERED
    if renumber:
        out = relabel_keeping_unclustered(out)
    return out, people_of_clusters(out, decisions)


def _follow_their_person(labels: np.ndarray, out: np.ndarray, decisions: Decisions, label_of: dict[str, int]) -> None:
    """A machine cluster that lost its confirmed faces to their person's cluster, and that they made most
    of, goes with them whole: the faces that only joined it are that person too (two clusters confirmed
    as one person, or two people merged). Fewer confirmed faces (one auto-matched face in a crowd of
    strangers) move alone."""
    original = np.asarray(labels, np.int64)
    identities: dict[int, set[str]] = {}
    confirmed = Counter()
    for face, person in decisions.confirmed.items():
        label = int(original[face])
        if label != UNCLUSTERED:
            identities.setdefault(label, set()).add(person)
            confirmed[label] += 1
    for label, people in identities.items():
        person = next(iter(people))
        if len(people) > 1 or label_of.get(person, label) == label:
            continue
        members = original == label
        if 2 * confirmed[label] > int(members.sum()):
            out[members] = label_of[person]


def people_of_clusters(labels: np.ndarray, decisions: Decisions) -> dict[int, str]:
    """The person of each cluster holding confirmed faces, for labels the decisions were applied to (all
    faces confirmed for one person then share one cluster); unnamed groups are no one yet."""
    return {int(labels[face]): person for face, person in decisions.confirmed.items()
            if labels[face] != UNCLUSTERED and not is_group(person)}


def is_group(identity: str) -> bool:
    """Whether a must-link identity is an unnamed group of faces (an editor's merge or split) and not a
    person."""
    return identity.startswith(GROUP_PREFIX)
