"""One `mailflow check`: DNS, the network policy, then a STARTTLS probe of every address of every
MX host, `attempts` times, concurrently, streaming results as they complete.

Concurrency follows the plan: every planned probe (at most `max_probes`) may run at once, so one
wave covers the domain, bounded by `max_concurrency` and by `per_address_limit` per address.
Bounds: at most `max_addresses_per_host` allowed addresses of a host are probed (the first in
DNS order; blocked ones do not count, the rest are listed in HostEvidence.capped), at most
`max_probes` connections per check, `max_concurrency` of them at once and `per_address_limit`
per address, a per-step timeout inside each probe, and one overall deadline after which
outstanding attempts end as FailureKind.DEADLINE and partial evidence is returned with
`deadline_hit=True`. An address whose attempt timed out is not tried again within the check.
Blocked addresses are listed in HostEvidence.blocked and never connected to.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bot.core.domain import Target
from bot.core.evidence import (
    AttemptEvidence,
    CheckEvidence,
    FailureKind,
    HostEvidence,
)
from bot.core.policy_evidence import PolicyEvidence
from bot.probe.netpolicy import NetPolicy, Network
from bot.probe.resolver import MxResolver, Nameserver, Resolution
from bot.probe.smtp import probe_starttls

log = logging.getLogger(__name__)

_GRACE_SECONDS = 1.0  # after the deadline, probes get this long to report before cancellation
MAX_ATTEMPTS = 10


@dataclass(frozen=True, slots=True)
class CheckRequest:
    target: Target
    host_mode: bool = False
    port: int = 25
    attempts: int = 2
    step_timeout: float = 10.0  # seconds per SMTP step and per DNS query
    deadline: float = 45.0  # seconds for the whole check
    nameservers: tuple[Nameserver, ...] = ()
    allow_nets: tuple[Network, ...] = ()
    expected_names: tuple[str, ...] = ()  # A-labels (bot.core.domain.normalise_name)
    max_concurrency: int = 128  # connections at once: all of max_probes, one wave
    per_address_limit: int = 2
    max_probes: int = 128  # connections per check at most; first attempts are planned first
    max_addresses_per_host: int = 32  # allowed addresses probed per host, in DNS order
    ehlo_name: str | None = None  # default: our local address as an address literal
    policies: bool = True  # DANE, MTA-STS, TLS-RPT (`--no-policies` turns them off)
    dnssec_resolver: Nameserver | None = None  # a validating resolver whose AD bit is trusted
    trust_anchor: Path | None = None  # DS/DNSKEY file for our own validation (default: root)
    ca_file: Path | None = None  # roots for the MTA-STS policy fetch (default: certifi)
    https_port: int = 443  # where the MTA-STS policy is fetched (tests use a loopback port)

    def __post_init__(self) -> None:
        if not 1 <= self.attempts <= MAX_ATTEMPTS:
            raise ValueError(f"attempts must be between 1 and {MAX_ATTEMPTS}")
        if not 0 < self.port < 65536:
            raise ValueError("port must be between 1 and 65535")
        if self.step_timeout <= 0 or self.deadline <= 0:
            raise ValueError("timeouts must be positive")
        limits = (
            self.max_concurrency, self.per_address_limit, self.max_probes,
            self.max_addresses_per_host,
        )  # fmt: skip
        if min(limits) < 1:
            raise ValueError("concurrency limits must be at least 1")
        if self.target.is_ip and not self.host_mode:
            raise ValueError("an IP address can only be probed in host mode")


@dataclass(frozen=True, slots=True)
class DnsResolved:
    """DNS is done: the hosts, their addresses and blocked addresses; no attempts yet."""

    evidence: CheckEvidence
    planned_attempts: int


@dataclass(frozen=True, slots=True)
class AttemptStarted:
    """A connection to `ip` is being made (its slot is free): the CLI shows it at once, so a
    slow server is visible while it keeps the attempt waiting."""

    host: str
    ip: str
    attempt: int


@dataclass(frozen=True, slots=True)
class AttemptFinished:
    attempt: AttemptEvidence
    done: int  # attempts finished so far, this one included
    planned: int  # attempts expected in total (shrinks when an address is not retried)


@dataclass(frozen=True, slots=True)
class CheckFinished:
    evidence: CheckEvidence


ProbeUpdate = DnsResolved | AttemptStarted | AttemptFinished | CheckFinished


@dataclass(frozen=True, slots=True)
class _Job:
    host_index: int
    host: str
    ip: str
    attempt: int


@dataclass
class _AddressState:
    slots: asyncio.Semaphore
    timed_out: bool = False
    skipped: int = 0  # attempts not made because an earlier one timed out


@dataclass
class _Run:
    """Shared state of one check's fan-out."""

    request: CheckRequest
    deadline: float  # absolute loop time
    slots: asyncio.Semaphore
    addresses: dict[str, _AddressState] = field(default_factory=dict)
    started: list[_Job] = field(default_factory=list)  # not yet reported as AttemptStarted
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def starting(self, job: _Job) -> None:
        self.started.append(job)
        self.wake.set()

    def take_started(self) -> list[AttemptStarted]:
        jobs, self.started = self.started, []
        self.wake.clear()
        return [AttemptStarted(job.host, job.ip, job.attempt) for job in jobs]

    def address(self, ip: str) -> _AddressState:
        if ip not in self.addresses:
            self.addresses[ip] = _AddressState(asyncio.Semaphore(self.request.per_address_limit))
        return self.addresses[ip]


async def run_check(request: CheckRequest) -> CheckEvidence:
    """The whole check; the final evidence (partial, with deadline_hit, when time ran out)."""
    evidence: CheckEvidence | None = None
    async for update in iter_check(request):
        if isinstance(update, CheckFinished):
            evidence = update.evidence
    assert evidence is not None
    return evidence


async def iter_check(request: CheckRequest) -> AsyncGenerator[ProbeUpdate, None]:
    """Yield DnsResolved, then AttemptStarted and AttemptFinished as each attempt starts and
    completes, then CheckFinished."""
    loop = asyncio.get_running_loop()
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    deadline = loop.time() + request.deadline

    resolution = await _resolve(request, deadline)
    dns_deadline_hit = loop.time() >= deadline
    hosts = _apply_policy(
        resolution.hosts, NetPolicy(request.allow_nets), request.max_addresses_per_host
    )
    base = CheckEvidence(
        target=request.target.name,
        target_display=request.target.display,
        domain=resolution.domain,
        source=resolution.source,
        hosts=hosts,
        dns_error=resolution.dns_error,
        cname_chain=resolution.cname_chain,
        expected_names=request.expected_names,
        started_at=started_at,
    )
    jobs = _plan(hosts, request.attempts)
    notes: list[str] = []
    if len(jobs) > request.max_probes:
        notes.append(f"probe limit: {request.max_probes} of {len(jobs)} planned attempts were made")
        jobs = jobs[: request.max_probes]
    policies = _start_policies(request, resolution, hosts, deadline)
    try:
        yield DnsResolved(base, len(jobs))
        run = _Run(
            request, deadline, asyncio.Semaphore(min(request.max_concurrency, len(jobs) or 1))
        )
        results: dict[_Job, AttemptEvidence] = {}
        async with contextlib.aclosing(_fan_out(run, jobs, results)) as updates:
            async for update in updates:
                yield update
        policy_evidence = await _finish_policies(policies, deadline, notes)
    finally:
        if policies is not None and not policies.done():  # the consumer stopped early
            policies.cancel()

    deadline_hit = dns_deadline_hit or any(
        ev.failure is FailureKind.DEADLINE for ev in results.values()
    )
    notes.extend(
        f"{ip}: not tried again after a timeout"
        for ip, state in run.addresses.items()
        if state.skipped
    )
    final = dataclasses.replace(
        base,
        hosts=_with_attempts(hosts, results),
        policies=policy_evidence,
        deadline_hit=deadline_hit,
        notes=tuple(notes),
        elapsed_ms=round((time.perf_counter() - started) * 1000, 2),
    )
    yield CheckFinished(final)


def _start_policies(
    request: CheckRequest, resolution: Resolution, hosts: Sequence[HostEvidence], deadline: float
) -> asyncio.Task[PolicyEvidence] | None:
    """The policy lookups run beside the SMTP probes (they are mostly DNS round trips)."""
    if not request.policies or not resolution.hosts or request.target.is_ip:
        return None
    from bot.probe.policies import PolicyRequest, collect_policies, hosts_for  # noqa: PLC0415

    policy_request = PolicyRequest(
        domain=resolution.domain, hosts=hosts_for(hosts), host_mode=request.host_mode,
        smtp_port=request.port, nameservers=request.nameservers, allow_nets=request.allow_nets,
        dnssec_resolver=request.dnssec_resolver, trust_anchor=request.trust_anchor,
        ca_file=request.ca_file, https_port=request.https_port, timeout=request.step_timeout,
    )  # fmt: skip
    return asyncio.create_task(collect_policies(policy_request, deadline=deadline))


async def _finish_policies(
    task: asyncio.Task[PolicyEvidence] | None, deadline: float, notes: list[str]
) -> PolicyEvidence | None:
    if task is None:
        return None
    remaining = deadline + _GRACE_SECONDS - asyncio.get_running_loop().time()
    try:
        async with asyncio.timeout(max(remaining, 0.01)):
            return await task
    except TimeoutError:
        notes.append("policy checks (DANE, MTA-STS, TLS-RPT) did not finish before the deadline")
    except Exception as exc:  # a bug must not take the whole check down
        log.exception("policy checks failed unexpectedly")
        notes.append(f"policy checks failed: internal error {type(exc).__name__}")
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    return None


async def _resolve(request: CheckRequest, deadline: float) -> Resolution:
    resolver = MxResolver(request.nameservers, timeout=request.step_timeout)
    if request.host_mode:
        return await resolver.resolve_host(request.target.name, deadline=deadline)
    return await resolver.resolve_mx(request.target.name, deadline=deadline)


def _apply_policy(
    hosts: Sequence[HostEvidence], policy: NetPolicy, per_host: int
) -> tuple[HostEvidence, ...]:
    """Blocked addresses are set aside first, so that they never use up the per-host limit;
    the allowed ones beyond it are `capped`."""
    checked: list[HostEvidence] = []
    for host in hosts:
        reasons = {ip: policy.blocked_reason(ip) for ip in host.addresses}
        blocked = tuple(ip for ip, why in reasons.items() if why is not None)
        allowed = [ip for ip, why in reasons.items() if why is None]
        checked.append(
            dataclasses.replace(
                host,
                blocked=blocked,
                blocked_reasons=tuple(reasons[ip] or "" for ip in blocked),
                capped=tuple(allowed[per_host:]),
            )
        )
    return tuple(checked)


def _probed(host: HostEvidence) -> list[str]:
    """The addresses of `host` the check connects to, in DNS order."""
    skipped = {*host.blocked, *host.capped}
    return [ip for ip in host.addresses if ip not in skipped]


def _plan(hosts: Sequence[HostEvidence], attempts: int) -> list[_Job]:
    targets = [(index, host, _probed(host)) for index, host in enumerate(hosts)]
    return [
        _Job(index, host.name, ip, attempt)
        for attempt in range(1, attempts + 1)  # first attempts of every address go first
        for index, host, addresses in targets
        for ip in addresses
    ]


async def _fan_out(
    run: _Run, jobs: Sequence[_Job], results: dict[_Job, AttemptEvidence]
) -> AsyncGenerator[AttemptStarted | AttemptFinished, None]:
    loop = asyncio.get_running_loop()
    tasks = {asyncio.create_task(_attempt(run, job)): job for job in jobs}
    pending: set[asyncio.Task[AttemptEvidence | None]] = set(tasks)
    planned = len(jobs)
    woken = asyncio.create_task(run.wake.wait())
    try:
        while pending:
            remaining = run.deadline + _GRACE_SECONDS - loop.time()
            if remaining <= 0:
                break
            done, _ = await asyncio.wait(
                {*pending, woken}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
            )
            for started in run.take_started():
                yield started
            if woken in done:
                woken = asyncio.create_task(run.wake.wait())
            finished = pending & done
            pending -= finished
            for task in finished:
                evidence = task.result()
                if evidence is None:  # not retried: an earlier attempt timed out
                    planned -= 1
                    continue
                results[tasks[task]] = evidence
                yield AttemptFinished(evidence, len(results), planned)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in pending:
            evidence = _deadline_evidence(run.request, tasks[task])
            results[tasks[task]] = evidence
            yield AttemptFinished(evidence, len(results), planned)
    finally:
        woken.cancel()
        leftovers = [task for task in tasks if not task.done()]
        for task in leftovers:  # the consumer stopped early (aclose) or we were cancelled
            task.cancel()
        await asyncio.gather(woken, *leftovers, return_exceptions=True)


async def _attempt(run: _Run, job: _Job) -> AttemptEvidence | None:
    request = run.request
    state = run.address(job.ip)
    async with state.slots:
        if state.timed_out:
            state.skipped += 1
            return None
        async with run.slots:
            if asyncio.get_running_loop().time() >= run.deadline:
                return _deadline_evidence(request, job)
            run.starting(job)
            try:
                evidence = await probe_starttls(
                    job.host,
                    job.ip,
                    request.port,
                    attempt=job.attempt,
                    step_timeout=request.step_timeout,
                    deadline=run.deadline,
                    ehlo_name=request.ehlo_name,
                )
            except Exception as exc:  # a bug must not take the whole check down
                log.exception("probe of %s (%s) failed unexpectedly", job.ip, job.host)
                return AttemptEvidence(
                    host=job.host,
                    ip=job.ip,
                    port=request.port,
                    attempt=job.attempt,
                    failure=FailureKind.PROTOCOL,
                    error=f"internal error: {type(exc).__name__}",
                )
        if evidence.failure is FailureKind.TIMEOUT:
            state.timed_out = True
        return evidence


def _deadline_evidence(request: CheckRequest, job: _Job) -> AttemptEvidence:
    return AttemptEvidence(
        host=job.host,
        ip=job.ip,
        port=request.port,
        attempt=job.attempt,
        failure=FailureKind.DEADLINE,
        error=f"check deadline ({request.deadline:g} s) reached before this attempt finished",
    )


def _with_attempts(
    hosts: Sequence[HostEvidence], results: dict[_Job, AttemptEvidence]
) -> tuple[HostEvidence, ...]:
    by_host: dict[int, list[tuple[int, int, AttemptEvidence]]] = {}
    positions = [{ip: n for n, ip in enumerate(host.addresses)} for host in hosts]
    for job, evidence in results.items():
        order = positions[job.host_index][job.ip]
        by_host.setdefault(job.host_index, []).append((order, job.attempt, evidence))
    return tuple(
        dataclasses.replace(
            host,
            attempts=tuple(ev for _, _, ev in sorted(by_host.get(index, []), key=_order)),
        )
        for index, host in enumerate(hosts)
    )


def _order(item: tuple[int, int, AttemptEvidence]) -> tuple[int, int]:
    return item[0], item[1]
