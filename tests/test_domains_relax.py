"""relax_domain_level per partition (RB-8; set_domain_attribute)."""

from __future__ import annotations

import pytest

from topology import CpuMask
from topology.debug import sched_domain_debug
from topology.domains import DomainAttr, DomainBuild, SdFlag, build_sched_domains
from topology.presets import preset

NEWIDLE, WAKE, IDLE = SdFlag.BALANCE_NEWIDLE, SdFlag.BALANCE_WAKE, SdFlag.WAKE_IDLE


def newidle(build: DomainBuild, cpu: int) -> list[tuple[str, int, bool]]:
    return [(sd.name, sd.level, bool(sd.flags & NEWIDLE)) for sd in build.chain(cpu)]


def test_modern_relax_clears_newidle_from_the_requested_level_up() -> None:
    build = build_sched_domains(preset("smt-numa-8"), era="modern", attrs=[DomainAttr(1)])
    assert newidle(build, 0) == [("SMT", 0, True), ("MC", 1, False), ("NUMA", 4, False)]
    assert not any(sd.flags & WAKE for sd in build.chain(0))


def test_modern_relax_zero_stops_idle_balancing_everywhere_and_stays_consistent() -> None:
    """SD-INV-10 still holds: NEWIDLE is SHARED_CHILD and parents may lack it."""
    build = build_sched_domains(preset("quad-node"), era="modern", attrs=[DomainAttr(0)])
    assert [f for _, _, f in newidle(build, 0)] == [False, False, False]
    assert sched_domain_debug(build).ok


def test_minus_one_leaves_the_defaults() -> None:
    plain = build_sched_domains(preset("smt-numa-8"), era="modern")
    relaxed = build_sched_domains(preset("smt-numa-8"), era="modern", attrs=[DomainAttr(-1)])
    assert (
        newidle(relaxed, 5)
        == newidle(plain, 5)
        == [
            ("SMT", 0, True),
            ("MC", 1, True),
            ("NUMA", 4, True),
        ]
    )


def test_2_6_relax_sets_idle_balancing_up_to_the_level_and_clears_it_above() -> None:
    """2.6.26-4.x rule on 2.6.14's levels: request 3 (CPU) keeps SIBLING/CPU, clears NODE."""
    build = build_sched_domains(preset("smt-numa-8"), attrs=[DomainAttr(3)])
    sib, cpu, node = build.chain(0)
    assert [
        (sd.level, bool(sd.flags & NEWIDLE), bool(sd.flags & IDLE)) for sd in (sib, cpu, node)
    ] == [
        (1, True, True),
        (3, True, True),
        (4, False, False),
    ]


@pytest.mark.parametrize("era", ["2.6.14", "2.6.20", "modern"])
def test_relax_applies_per_partition(era: str) -> None:
    """Request 0 clears idle balancing on every level of partition 0; partition 1 is untouched."""
    parts = [CpuMask.parse("0-3"), CpuMask.parse("4-7")]
    attrs = [DomainAttr(0), DomainAttr(-1)]
    relaxed = build_sched_domains(preset("smt-numa-8"), parts, era=era, attrs=attrs)
    plain = build_sched_domains(preset("smt-numa-8"), parts, era=era)
    assert [bool(sd.flags & NEWIDLE) for sd in relaxed.chain(0)] == [False] * len(relaxed.chain(0))
    assert [sd.flags for sd in relaxed.chain(4)] == [sd.flags for sd in plain.chain(4)]
    assert relaxed.attrs == (DomainAttr(0), DomainAttr(-1))
