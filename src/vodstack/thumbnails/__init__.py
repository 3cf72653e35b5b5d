"""Pictures of an asset: the poster, storyboard sprite sheets with their WebVTT thumbnails
track, and single frames cut on the fly for ``thumbnail.jpg?time=S&width=W`` (issue #8)."""
