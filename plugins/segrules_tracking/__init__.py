"""Built-in destinations ``segment`` and ``rudderstack``: one HTTP Tracking API client
(:mod:`.client`), two plugin entries (:mod:`.segment`, :mod:`.rudderstack`)."""
