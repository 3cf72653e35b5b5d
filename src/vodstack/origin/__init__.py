"""The origin: resolves delivery paths to manifests (packaged just in time) or stored bytes."""
