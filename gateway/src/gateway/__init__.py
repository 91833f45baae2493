"""The API gateway: one public entry for the mini-program, staff and WeChat."""
