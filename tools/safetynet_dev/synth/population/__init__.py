"""The random households: plan, base population, day-to-day events, one day's rows."""
