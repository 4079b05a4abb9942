"""Helpers the tests share (servers, chains, tokens, reports, a browser); not tests."""
