"""campaign-service: series, periods, registrations, payments, check-ins, refunds, channels, referrals, communities."""
