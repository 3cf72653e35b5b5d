"""Content protection at the packager: per-asset schemes, content keys, key providers.

The same stored clear CMAF copy is served clear, HLS AES-128, CMAF ``cbcs`` (HLS SAMPLE-AES and
DASH) or ``cenc`` (DASH), just in time; switching or re-keying needs no re-transcode.
"""
