// The app's shared script: CSRF-aware fetch, live fragments, confirmations.
