"""Entitlement gate: who may watch, and the signed grants that let them.

Pure core, no web framework or database (the HTTP routes and the catalogue wire these in):

    cfbase64      CloudFront's base64 alphabet, strict decoding
    policy        Policy statement: serialise (botocore-identical), parse, match, evaluate
    signing       RSA/ECDSA signatures, signed cookies and signed URLs
    keys          key generation, PEM, key ids; keygroup: the trusted key group
    keystore      private keys on disk (0600, optional passphrase)
    requestparts  cookies and query parameters as they arrive, duplicates kept
    verify        SignatureVerifier: one request -> Verdict (ok or a reason for metrics)
    jwtkeys, devidp, jwks, tokens   viewer JWTs: dev IdP, external JWKS, JwtVerifier
"""
