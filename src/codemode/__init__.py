"""klaviyo-codemode."""
