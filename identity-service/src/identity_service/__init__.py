"""identity-service: members and member numbers, WeChat logins, phones, followers, access tokens, staff."""
