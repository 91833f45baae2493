"""messaging-service: subscribe, template and customer-service messages under WeChat quotas."""
