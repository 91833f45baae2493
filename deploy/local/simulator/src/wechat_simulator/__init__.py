"""The WeChat simulator: WeChat's APIs, pushes and WeChat Pay as Qunyun sees them, for local use and tests."""
