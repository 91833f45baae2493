"""Qunyun shared library: the plumbing every service uses, no business rules."""
