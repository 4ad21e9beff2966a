"""Model-based test of the cpuset tree: random mkdir/rmdir/writes/attach/fork/hotplug.

A plain model (dicts of ints) restates the write rules of SPEC §3.2 and the
attach and rmdir rules independently of cpuset/validate.py, predicts each
operation's errno, and is compared with the tree after every step.  The
invariants hold after every step in every era:

* a child's cpus and mems lie within its parent's (legacy hierarchy);
* exclusive siblings are disjoint (v2: valid partitions own disjoint CPUs);
* a populated cpuset is never left without CPUs or memory;
* the partitions are disjoint, online, and cover exactly the load-balanced
  CPUs of the era's rule (P24-2, RB-5, RB-6);
* every task may run on an online CPU, and in modern eras only on CPUs of
  its cpuset (its cpus_allowed within guarantee_online_cpus; for the top
  cpuset every CPU but the partitions', offline ones included: CS-ATT-3).
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, field

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from cpuset import Cpuset, CpusetError, CpusetFS, CsFlag, generate_sched_domains
from cpuset.effective import isolated_cpus
from topology import CpuMask
from topology.presets import preset

NAMES = ("a", "b", "c")
CPU_BITS = st.integers(min_value=0, max_value=15)
MEM_BITS = st.integers(min_value=0, max_value=3)
FLAGS = {"cpu_exclusive": 1, "mem_exclusive": 2, "sched_load_balance": 4}


@dataclass
class Node:
    """The model of one cpuset: masks and flags as plain ints."""

    cpus: int = 0
    mems: int = 0
    flags: int = 0
    tasks: set[int] = field(default_factory=set)
    children: list[str] = field(default_factory=list)


def allowed_cpus(fs: CpusetFS, cs: Cpuset) -> CpuMask:
    """What a task of *cs* may be given: guarantee_online_cpus, or for the modern top
    cpuset all CPUs minus those of its valid child partitions (cpuset_cpus_allowed)."""
    tree = fs.tree
    if cs.parent is not None or tree.era.name not in ("v1", "v2"):
        return tree.guarantee_online_cpus(cs)
    mask = tree.machine.all_cpus
    for child in cs.children:
        if child.prs > 0:
            mask = mask - child.effective_xcpus
    return mask if mask.intersects(tree.online_cpus) else tree.machine.all_cpus


def subset_ok(p: Node, q: Node, cpus: int, mems: int, flags: int) -> bool:
    """is p (with the given trial values) a subset of q, exclusive flags included."""
    del p
    return cpus & ~q.cpus == 0 and mems & ~q.mems == 0 and flags & 3 & ~q.flags == 0


class CpusetMachine(RuleBasedStateMachine):
    era = "v1"

    def __init__(self) -> None:
        super().__init__()
        self.fs = CpusetFS(preset("numa-2x2"), era=self.era)
        self.mount = self.fs.tree.mount_point
        top_flags = 3 | (0 if self.era == "2.6.14" else 4)
        self.model: dict[str, Node] = {"/": Node(cpus=0xF, mems=0x3, flags=top_flags, tasks={1})}
        self.online = 0xF
        self.last_generation = 0
        self.unplugged = False

    # -- helpers ---------------------------------------------------------------

    def real(self, path: str) -> str:
        return self.mount if path == "/" else self.mount + path

    def parent(self, path: str) -> str:
        head = path.rsplit("/", 1)[0]
        return head or "/"

    def populated(self, path: str) -> bool:
        node = self.model[path]
        return bool(node.tasks) or any(self.populated(c) for c in node.children)

    def attempt(self, call: object, *args: object) -> int | None:
        assert callable(call)
        try:
            call(*args)
        except CpusetError as exc:
            return exc.errno
        return None

    def resync(self) -> None:
        """Reload masks and tasks from the tree: what hotplug does is the tree's to decide."""
        for cs in self.fs.tree.walk():
            node = self.model[cs.path]
            node.cpus, node.mems = cs.config.cpus.bits, cs.config.mems.bits
            node.tasks = set(cs.tasks)

    def predict_write(self, path: str, cpus: int, mems: int, flags: int) -> int | None:
        """The errno of replacing path's values by the trial ones (validate_change, SPEC §3.2)."""
        node = self.model[path]
        for child in node.children:
            c = self.model[child]
            if not subset_ok(c, Node(cpus=cpus, mems=mems, flags=flags), c.cpus, c.mems, c.flags):
                return errno.EBUSY
        if path == "/":
            return None
        parent = self.model[self.parent(path)]
        if not subset_ok(node, parent, cpus, mems, flags):
            return errno.EACCES
        emptied = (node.cpus and not cpus) or (node.mems and not mems)
        if self.era == "v1" and self.populated(path) and emptied:
            return errno.ENOSPC
        for sib_path in parent.children:
            sib = self.model[sib_path]
            if sib_path == path:
                continue
            if (flags | sib.flags) & 1 and cpus & sib.cpus:
                return errno.EINVAL
            if (flags | sib.flags) & 2 and mems & sib.mems:
                return errno.EINVAL
        if self.era == "2.6.24" and node.tasks and not (cpus and mems):
            return errno.ENOSPC
        return None

    def predict_mask(self, path: str, kind: str, bits: int) -> tuple[int | None, int]:
        """(errno, stored value) for writing *bits* to cpus or mems on the legacy hierarchy."""
        node = self.model[path]
        old = node.cpus if kind == "cpus" else node.mems
        online = self.online if kind == "cpus" else 0x3
        if path == "/" and self.era != "2.6.14":
            return errno.EACCES, old
        if self.era in ("2.6.14", "2.6.24"):
            if self.era == "2.6.14" and bits == 0:
                return errno.EINVAL, old
            bits &= online
            if self.era == "2.6.14" and bits == 0:
                return errno.ENOSPC, old
            if self.era == "2.6.24" and kind == "mems" and bits == old:
                return None, old
        else:
            if bits & ~online:
                return errno.EINVAL, old
            if bits == old:
                return None, old
        cpus, mems = (bits, node.mems) if kind == "cpus" else (node.cpus, bits)
        return self.predict_write(path, cpus, mems, node.flags), bits

    # -- rules -------------------------------------------------------------------

    @rule(data=st.data(), name=st.sampled_from(NAMES))
    def mkdir(self, data: st.DataObject, name: str) -> None:
        self._mkdir(data.draw(st.sampled_from(sorted(self.model))), name)

    def _mkdir(self, parent: str, name: str) -> str | None:
        path = (parent.rstrip("/") + "/" + name) if parent != "/" else "/" + name
        expected = errno.EEXIST if path in self.model else None
        assert self.attempt(self.fs.mkdir, self.real(path)) == expected
        if expected is not None:
            return None
        self.model[path] = Node(flags=0 if self.era == "2.6.14" else 4)
        self.model[parent].children.append(path)
        return path

    @rule(data=st.data(), name=st.sampled_from(NAMES))
    def start_job(self, data: st.DataObject, name: str) -> None:
        """mkdir + cpus within the parent's + the parent's mems + a new task attached."""
        parents = sorted(p for p, n in self.model.items() if n.cpus and n.mems)
        if self.fs.tree.era.v2:
            parents = ["/"]
        if not parents:
            return
        parent = data.draw(st.sampled_from(parents))
        path = self._mkdir(parent, name)
        if path is None:
            return
        pcpus = self.model[parent].cpus
        cpus = data.draw(st.sampled_from([b for b in range(1, 16) if b & ~pcpus == 0]))
        self._write_mask(path, "cpus", cpus)
        self._write_mask(path, "mems", self.model[parent].mems)
        self._attach(path, self._fork(1))

    @rule(on=st.booleans())
    def top_balance(self, on: bool) -> None:
        if self.era in ("2.6.24", "v1"):
            node = self.model["/"]
            node.flags = (node.flags | 4) if on else (node.flags & ~4)
            assert (
                self.attempt(self.fs.write, self.mount + "/sched_load_balance", f"{int(on)}\n")
                is None
            )

    @rule(data=st.data())
    def rmdir(self, data: st.DataObject) -> None:
        choices = sorted(p for p in self.model if p != "/")
        if not choices:
            return
        path = data.draw(st.sampled_from(choices))
        node = self.model[path]
        expected = errno.EBUSY if self.populated(path) or node.children else None
        assert self.attempt(self.fs.rmdir, self.real(path)) == expected
        if expected is None:
            del self.model[path]
            self.model[self.parent(path)].children.remove(path)

    @rule(data=st.data(), kind=st.sampled_from(["cpus", "mems"]))
    def write_mask(self, data: st.DataObject, kind: str) -> None:
        path = data.draw(st.sampled_from(sorted(self.model)))
        self._write_mask(path, kind, data.draw(CPU_BITS if kind == "cpus" else MEM_BITS))

    def _write_mask(self, path: str, kind: str, bits: int) -> None:
        text = str(CpuMask(bits)) + "\n"
        if self.fs.tree.era.v2:
            self.write_mask_v2(path, kind, bits, text)
            return
        expected, stored = self.predict_mask(path, kind, bits)
        assert self.attempt(self.fs.write, self.real(path) + "/" + kind, text) == expected
        if expected is None:
            setattr(self.model[path], kind, stored)

    def write_mask_v2(self, path: str, kind: str, bits: int, text: str) -> None:
        target = self.real(path) + "/cpuset." + kind
        node = self.model[path]
        old = node.cpus if kind == "cpus" else node.mems
        expected = None
        if path.count("/") != 1 or path == "/":
            expected = errno.EACCES  # no cpuset files: only the root enables the controller
        elif old and not bits and self.populated(path):
            expected = errno.ENOSPC
        assert self.attempt(self.fs.write, target, text) == expected
        if expected is None:
            setattr(node, kind, bits)

    @rule(data=st.data(), flag=st.sampled_from(sorted(FLAGS)), on=st.booleans())
    def write_flag(self, data: st.DataObject, flag: str, on: bool) -> None:
        if self.fs.tree.era.v2 or (flag == "sched_load_balance" and self.era == "2.6.14"):
            return
        path = data.draw(st.sampled_from(sorted(self.model)))
        node = self.model[path]
        flags = (node.flags | FLAGS[flag]) if on else (node.flags & ~FLAGS[flag])
        expected = self.predict_write(path, node.cpus, node.mems, flags)
        written = self.attempt(self.fs.write, self.real(path) + "/" + flag, f"{int(on)}\n")
        assert written == expected
        if expected is None:
            node.flags = flags

    @rule(data=st.data(), state=st.sampled_from(["member", "root", "isolated"]))
    def write_partition(self, data: st.DataObject, state: str) -> None:
        choices = sorted(p for p in self.model if p != "/")
        if not self.fs.tree.era.v2 or not choices:
            return
        path = data.draw(st.sampled_from(choices))
        target = self.real(path) + "/cpuset.cpus.partition"
        expected = None if path.count("/") == 1 else errno.EACCES
        assert self.attempt(self.fs.write, target, state + "\n") == expected

    @rule(data=st.data())
    def attach(self, data: st.DataObject) -> None:
        path = data.draw(st.sampled_from(sorted(self.model)))
        self._attach(path, data.draw(st.sampled_from(sorted(self.fs.tree.tasks))))

    def _attach(self, path: str, pid: int) -> None:
        node = self.model[path]
        procs = "/cgroup.procs" if self.fs.tree.era.v2 else "/tasks"
        result = self.attempt(self.fs.write, self.real(path) + procs, f"{pid}\n")
        if self.fs.tree.era.v2:
            cs = self.fs.tree.lookup(path)
            assert cs is not None
            assert result == (None if cs.effective_cpus or pid in cs.tasks else errno.ENOSPC)
        else:
            assert result == (errno.ENOSPC if not (node.cpus and node.mems) else None)
        for other in self.model.values():
            if result is None:
                other.tasks.discard(pid)
        if result is None:
            node.tasks.add(pid)
        elif pid not in self.fs.tree.tasks[pid].cpuset.tasks:
            raise AssertionError(f"pid {pid} lost by a refused attach")

    @rule(data=st.data())
    def fork(self, data: st.DataObject) -> None:
        self._fork(data.draw(st.sampled_from(sorted(self.fs.tree.tasks))))

    def _fork(self, parent: int) -> int:
        child = self.fs.fork(parent)
        for node in self.model.values():
            if parent in node.tasks:
                node.tasks.add(child)
        return child

    @rule(data=st.data(), bits=CPU_BITS)
    def setaffinity(self, data: st.DataObject, bits: int) -> None:
        pid = data.draw(st.sampled_from(sorted(self.fs.tree.tasks)))
        task = self.fs.tree.tasks[pid]
        usable = CpuMask(bits) & allowed_cpus(self.fs, task.cpuset)
        expected = None if usable.intersects(self.fs.tree.online_cpus) else errno.EINVAL
        assert self.attempt(self.fs.sched_setaffinity, pid, CpuMask(bits)) == expected
        if expected is None:
            assert task.cpus_allowed == usable

    @rule(cpu=st.integers(min_value=0, max_value=3), online=st.booleans())
    def hotplug(self, cpu: int, online: bool) -> None:
        new = (self.online | (1 << cpu)) if online else (self.online & ~(1 << cpu))
        expected = errno.EBUSY if new == 0 else None
        if self.fs.tree.era.name in ("2.6.14", "2.6.24"):  # store_online: cpu_up/cpu_down
            if not online and self.online.bit_count() == 1:
                expected = errno.EBUSY
            elif online == bool(self.online >> cpu & 1):
                expected = errno.EINVAL
        assert self.attempt(self.fs.set_online, cpu, online) == expected
        if expected is None:
            self.online = new
            self.unplugged = self.unplugged or not online
            self.resync()

    # -- invariants ----------------------------------------------------------------

    @invariant()
    def matches_the_model(self) -> None:
        tree = self.fs.tree
        actual = {
            cs.path: (cs.config.cpus.bits, cs.config.mems.bits, set(cs.tasks)) for cs in tree.walk()
        }
        expected = {p: (n.cpus, n.mems, n.tasks) for p, n in self.model.items()}
        if tree.era.v2:
            actual = {p: v for p, v in actual.items() if p != "/"}
            expected = {p: v for p, v in expected.items() if p != "/"}
        assert actual == expected

    @invariant()
    def children_within_parents_and_exclusive_siblings_disjoint(self) -> None:
        tree = self.fs.tree
        if tree.era.v2:
            owned = [
                cs.effective_xcpus for cs in tree.walk() if cs.parent is not None and cs.prs > 0
            ]
            for i, mask in enumerate(owned):
                assert all(not mask.intersects(other) for other in owned[i + 1 :])
            return
        for cs in tree.walk():
            if cs.parent is not None:
                assert cs.config.cpus <= cs.parent.config.cpus
                assert cs.config.mems <= cs.parent.config.mems
            if tree.era.name == "2.6.24" and self.unplugged:
                continue  # CS-HP-2 hands an emptied cpuset its parent's CPUs, exclusive or not
            for i, a in enumerate(cs.children):
                for b in cs.children[i + 1 :]:
                    if a.has(CsFlag.CPU_EXCLUSIVE) or b.has(CsFlag.CPU_EXCLUSIVE):
                        assert not a.config.cpus.intersects(b.config.cpus)
                    if a.has(CsFlag.MEM_EXCLUSIVE) or b.has(CsFlag.MEM_EXCLUSIVE):
                        assert not a.config.mems.intersects(b.config.mems)

    @invariant()
    def populated_cpusets_are_never_empty(self) -> None:
        tree = self.fs.tree
        for cs in tree.walk():
            if not cs.tasks:
                continue
            usable = (tree.guarantee_online_cpus(cs), tree.guarantee_online_mems(cs))
            assert all(usable)
            if tree.era.v2:
                assert all((cs.effective_cpus, cs.effective_mems))
            elif tree.era.name != "2.6.14":
                assert all((cs.config.cpus, cs.config.mems))

    @invariant()
    def partitions_are_disjoint_and_cover_the_balanced_cpus(self) -> None:
        tree = self.fs.tree
        doms = tree.partitions.doms
        for i, a in enumerate(doms):
            assert a <= tree.online_cpus
            assert all(not a.intersects(b) for b in doms[i + 1 :])
        if tree.era.name == "2.6.14":
            return
        fresh = generate_sched_domains(tree)
        union = fresh.balanced
        if tree.era.v2:
            assert union == tree.online_cpus - isolated_cpus(tree)
            return
        balanced = [
            cs.config.cpus & tree.online_cpus
            for cs in tree.walk()
            if cs.has(CsFlag.SCHED_LOAD_BALANCE)
        ]
        expected = CpuMask()
        for cpus in balanced:
            expected = expected | cpus
            assert cpus == CpuMask() or any(cpus <= d for d in fresh.doms)
        assert union == expected

    @invariant()
    def tasks_run_only_where_their_cpuset_allows(self) -> None:
        tree = self.fs.tree
        for task in tree.tasks.values():
            assert task.cpus_allowed.intersects(tree.online_cpus)
            if not tree.era.user_cpus_ptr:
                continue
            allowed = allowed_cpus(self.fs, task.cpuset)
            # A top-cpuset task whose sched_setaffinity request is all offline: the
            # kernel's set_cpus_allowed_ptr(allowed ∩ request) fails and leaves its mask.
            wanted = allowed & (task.user_cpus or CpuMask())
            if not wanted or wanted.intersects(tree.online_cpus):
                assert task.cpus_allowed <= allowed

    @invariant()
    def generation_never_goes_back(self) -> None:
        assert self.fs.generation >= self.last_generation
        self.last_generation = self.fs.generation


# Short by default (30 runs of 30 steps per era, a few seconds); the ci profile
# (HYPOTHESIS_PROFILE=ci) runs five times as many.
SHORT = settings(
    max_examples=max(30, settings().max_examples // 2),
    stateful_step_count=30,
    deadline=None,
)


class Era2614Machine(CpusetMachine):
    era = "2.6.14"


class Era2624Machine(CpusetMachine):
    era = "2.6.24"


class EraV1Machine(CpusetMachine):
    era = "v1"


class EraV2Machine(CpusetMachine):
    era = "v2"

    def __init__(self) -> None:
        super().__init__()
        self.fs.write(self.mount + "/cgroup.subtree_control", "+cpuset\n")


TestCpusetTree2614AgainstTheModel = Era2614Machine.TestCase
TestCpusetTree2624AgainstTheModel = Era2624Machine.TestCase
TestCpusetTreeV1AgainstTheModel = EraV1Machine.TestCase
TestCpusetTreeV2AgainstTheModel = EraV2Machine.TestCase
for _case in (
    TestCpusetTree2614AgainstTheModel,
    TestCpusetTree2624AgainstTheModel,
    TestCpusetTreeV1AgainstTheModel,
    TestCpusetTreeV2AgainstTheModel,
):
    _case.settings = SHORT
del _case
