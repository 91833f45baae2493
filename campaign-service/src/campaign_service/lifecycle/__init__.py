"""The top of campaign-service: what moves periods and registrations from state to state.

The domain folders below depend only downwards — ``periods`` (the catalogue),
then ``payments`` (orders, the WeChat Pay client) and ``registrations``, then
``checkins``, then ``settlement`` — and this package calls down into them: a
period opening, running, closing and settling (by staff or the scheduler), a
payment confirming a registration, a registration being cancelled. Nothing
below imports it.
"""
