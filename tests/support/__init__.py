"""Helpers shared by the tests (no tests here): extracts, deliveries, users, servers, clocks."""
