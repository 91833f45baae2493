"""Failures whose writes must survive the error response."""

from shared.errors import ServiceError


class RecordedFailure(Exception):
    """A refusal that recorded something first (a lockout count, a revoked family, a merge candidate).

    The request's transaction is rolled back when an endpoint raises, so the
    endpoint catches this, commits, and then raises ``problem``.
    """

    def __init__(self, problem: ServiceError) -> None:
        super().__init__(problem.detail)
        self.problem = problem
