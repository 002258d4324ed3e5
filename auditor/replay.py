"""Replaying a case's events on the procedure's state machine.

One `transitions` machine is built per procedure, from its milestones and the
order its rules require; each case is attached as a model, replayed, and
detached (`add_model` / `remove_model`). Every trigger has two transitions:
one taken when the milestones it must follow were reached, and one taken
otherwise, whose ``before`` callback records the deviation. Nothing is
ignored: ``auto_transitions`` is off and no trigger is swallowed.

A deviation becomes an *order breach* only when the missing milestone is
reached later in the replay. A milestone never reached is a gap, not an order
problem; the rules about it report the gap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from transitions import EventData, Machine

from auditor.case import Event
from auditor.checklist import Procedure


@dataclass(frozen=True)
class OrderBreach:
    """``early`` (an event type) was replayed before ``late``, which the procedure puts first."""

    early: str
    late: str
    early_index: int
    late_index: int


@dataclass
class Replay:
    """One case's run through the machine; the machine sets ``state``."""

    state: str = "not_started"
    reached: dict[str, int] = field(default_factory=dict)
    path: list[str] = field(default_factory=list)
    pending: list[tuple[str, str, int]] = field(default_factory=list)
    breaches: list[OrderBreach] = field(default_factory=list)

    def breach(self, early: str, late: str) -> OrderBreach | None:
        for found in self.breaches:
            if found.early == early and found.late == late:
                return found
        return None


class ProcedureMachine:
    """The procedure's milestones as a state machine, built once and reused for every case."""

    INITIAL = "not_started"

    def __init__(self, procedure: Procedure) -> None:
        self.procedure = procedure
        self._state_of = {m.event: m.state for m in procedure.milestones}
        self._event_of = {m.state: m.event for m in procedure.milestones}
        rank = {m.event: n for n, m in enumerate(procedure.milestones)}
        last = {m.event for m in procedure.milestones if m.same_day == "last"}
        # One number per event type: same-day `last` milestones after the rest, then
        # procedure order. (An event may stand for several milestones: its rank is its
        # last, so the offset is the number of milestones, not of events.)
        self._replay_rank = {
            event: (len(procedure.milestones) if event in last else 0) + rank[event]
            for event in rank
        }
        self.requires: dict[str, set[str]] = {m.state: set() for m in procedure.milestones}
        for rule in procedure.rules:
            if rule.order is None or rule.event is None:
                continue
            if rule.event not in self._state_of or rule.order.other not in self._state_of:
                continue
            mine, other = self._state_of[rule.event], self._state_of[rule.order.other]
            if rule.order.before:
                self.requires[other].add(mine)
            else:
                self.requires[mine].add(other)
        self._variants: dict[tuple[str, ...], Replay] = {}
        self.machine = Machine(
            model=None,
            states=[self.INITIAL, *self._event_of],
            initial=self.INITIAL,
            auto_transitions=False,
            send_event=True,
        )
        for milestone in procedure.milestones:
            self.machine.add_transition(
                trigger=milestone.event,
                source="*",
                dest=milestone.state,
                conditions=[self._in_order],
                after=[self._reach],
            )
            self.machine.add_transition(
                trigger=milestone.event,
                source="*",
                dest=milestone.state,
                unless=[self._in_order],
                before=[self._deviate],
                after=[self._reach],
            )

    @staticmethod
    def _unpack(event: EventData) -> tuple[Replay, str, int]:
        """The case, the milestone being entered and the event's index, from a callback."""
        assert isinstance(event.model, Replay) and event.transition is not None
        return event.model, str(event.transition.dest), int(event.kwargs["index"])

    def _missing(self, model: Replay, dest: str) -> list[str]:
        return sorted(self.requires[dest] - model.reached.keys())

    def _in_order(self, event: EventData) -> bool:
        model, dest, _ = self._unpack(event)
        return not self._missing(model, dest)

    def _deviate(self, event: EventData) -> None:
        model, dest, index = self._unpack(event)
        for missing in self._missing(model, dest):
            model.pending.append((dest, missing, index))

    def _reach(self, event: EventData) -> None:
        model, dest, index = self._unpack(event)
        if dest not in model.reached:
            model.reached[dest] = index
            model.path.append(dest)

    def replay_order(self, events: list[Event]) -> list[int]:
        """Indexes of the events that took place, in the order they are replayed.

        By date; on one day, ``same_day: last`` milestones after the rest, then
        procedure order, then file order.
        """
        ranks = self._replay_rank
        playable = [
            (e.on, ranks[e.type], i) for i, e in enumerate(events)
            # Took place: happened, and not recorded as not attended.
            if e.on is not None and e.type in ranks and e.happened and e.attended is not False
        ]
        playable.sort()  # by date, then same-day rank and procedure order, then index
        return [entry[2] for entry in playable]

    VARIANTS = 10_000
    """Variants kept; past that no more are kept (memory stays bounded)."""

    def _replay_variant(self, types: tuple[str, ...]) -> Replay:
        """Run one sequence of event types through the machine; indexes are positions in it."""
        model = Replay()
        self.machine.add_model(model, initial=self.INITIAL)
        try:
            trigger: Any = getattr(model, "trigger")  # noqa: B009
            for position, event_type in enumerate(types):
                trigger(event_type, index=position)
        finally:
            self.machine.remove_model(model)
        return model

    def replay(self, events: list[Event]) -> Replay:
        """Replay events (in the case's dated order) and return what the machine saw.

        Cases with the same *variant* (the same sequence of replayed event
        types, a run of one type counted once) are run on the machine only
        once. That is exact: the machine's state, conditions and callbacks
        depend only on the types; a repeat of the type just replayed reaches
        nothing new and misses the same milestones as the first of its run,
        so its deviations are copied with its own index below.
        """
        order = self.replay_order(events)
        runs: list[list[int]] = []
        types: list[str] = []
        for index in order:
            event_type = events[index].type
            if types and types[-1] == event_type:
                runs[-1].append(index)
            else:
                types.append(event_type)
                runs.append([index])
        key = tuple(types)
        variant = self._variants.get(key)
        if variant is None:
            variant = self._replay_variant(key)
            if len(self._variants) < self.VARIANTS:  # full: keep the early (common) ones
                self._variants[key] = variant
        model = Replay(
            state=variant.state,
            reached={state: runs[position][0] for state, position in variant.reached.items()},
            path=list(variant.path),
        )
        if variant.pending:
            missed: dict[int, list[tuple[str, str]]] = {}
            for dest, missing, position in variant.pending:
                missed.setdefault(position, []).append((dest, missing))
            for position in sorted(missed):
                for index in runs[position]:
                    model.pending.extend((dest, missing, index) for dest, missing in missed[position])
        for dest, missing, index in model.pending:
            if missing in model.reached:
                model.breaches.append(
                    OrderBreach(
                        early=self._event_of[dest],
                        late=self._event_of[missing],
                        early_index=index,
                        late_index=model.reached[missing],
                    )
                )
        return model
