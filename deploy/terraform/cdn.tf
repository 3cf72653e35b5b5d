# CloudFront in front of vodstack: /v1/ needs a cookie or URL signed by a key of the trusted key
# group (vodstack's signing keys), /play/ and the API pass through uncached.

resource "aws_cloudfront_public_key" "signing" {
  for_each    = var.signing_public_keys
  name        = "${var.name}-${each.key}"
  comment     = "vodstack signing key ${each.key}"
  encoded_key = each.value
}

resource "aws_cloudfront_key_group" "signing" {
  name    = "${var.name}-signing"
  comment = "vodstack signing keys (vodstack keys list)"
  items   = [for k in aws_cloudfront_public_key.signing : k.id]
}

locals {
  origin_id = "vodstack-origin"
  # Manifests name the current revision: short TTL. Everything else under /v1/ (init and
  # media segments, media playlists) carries the revision in its URL: immutable.
  manifest_patterns = ["/v1/*.m3u8", "/v1/*.mpd"]
  year              = 31536000
}

# Cache keys hold the path only: no cookie, no header, no query string. CloudFront checks the
# signature (cookies or Policy/Signature/Key-Pair-Id) before the cache; keeping them out of the
# key means one cached copy for every viewer.
resource "aws_cloudfront_cache_policy" "manifests" {
  count       = var.cache_policies ? 1 : 0
  name        = "${var.name}-manifests"
  comment     = "vodstack manifests: short TTL, path-only cache key"
  min_ttl     = 0
  default_ttl = var.manifest_ttl_seconds
  max_ttl     = var.manifest_ttl_seconds
  parameters_in_cache_key_and_forwarded_to_origin {
    enable_accept_encoding_brotli = true
    enable_accept_encoding_gzip   = true
    cookies_config {
      cookie_behavior = "none"
    }
    headers_config {
      header_behavior = "none"
    }
    query_strings_config {
      query_string_behavior = "none"
    }
  }
}

resource "aws_cloudfront_cache_policy" "segments" {
  count       = var.cache_policies ? 1 : 0
  name        = "${var.name}-segments"
  comment     = "vodstack segments: immutable, path-only cache key"
  min_ttl     = local.year
  default_ttl = local.year
  max_ttl     = local.year
  parameters_in_cache_key_and_forwarded_to_origin {
    enable_accept_encoding_brotli = false
    enable_accept_encoding_gzip   = false
    cookies_config {
      cookie_behavior = "none"
    }
    headers_config {
      header_behavior = "none"
    }
    query_strings_config {
      query_string_behavior = "none"
    }
  }
}

resource "aws_cloudfront_distribution" "vod" {
  enabled         = true
  is_ipv6_enabled = true
  comment         = "${var.name}: vodstack delivery"
  price_class     = var.price_class
  aliases         = var.aliases
  web_acl_id      = var.enable_waf ? aws_wafv2_web_acl.edge[0].arn : null
  http_version    = "http2and3"
  # false: apply returns before the distribution reaches every edge location (minutes).
  wait_for_deployment = var.wait_for_deployment

  origin {
    origin_id   = local.origin_id
    domain_name = var.origin_domain
    custom_origin_config {
      http_port              = 80
      https_port             = 443
      origin_protocol_policy = "https-only"
      origin_ssl_protocols   = ["TLSv1.2"]
    }
    custom_header {
      name  = var.origin_secret_header
      value = var.origin_secret
    }
    dynamic "origin_shield" {
      for_each = var.enable_origin_shield ? [1] : []
      content {
        enabled              = true
        origin_shield_region = var.region
      }
    }
  }

  # Manifests: signed, short TTL.
  dynamic "ordered_cache_behavior" {
    for_each = local.manifest_patterns
    content {
      path_pattern           = ordered_cache_behavior.value
      target_origin_id       = local.origin_id
      viewer_protocol_policy = "redirect-to-https"
      allowed_methods        = ["GET", "HEAD", "OPTIONS"]
      cached_methods         = ["GET", "HEAD"]
      compress               = true
      trusted_key_groups     = [aws_cloudfront_key_group.signing.id]
      cache_policy_id        = var.cache_policies ? aws_cloudfront_cache_policy.manifests[0].id : null
      min_ttl                = var.cache_policies ? null : 0
      default_ttl            = var.cache_policies ? null : var.manifest_ttl_seconds
      max_ttl                = var.cache_policies ? null : var.manifest_ttl_seconds
      dynamic "forwarded_values" {
        for_each = var.cache_policies ? [] : [1]
        content {
          query_string = false
          cookies {
            forward = "none"
          }
        }
      }
    }
  }

  # Segments and media playlists: signed, immutable.
  ordered_cache_behavior {
    path_pattern           = "/v1/*"
    target_origin_id       = local.origin_id
    viewer_protocol_policy = "redirect-to-https"
    allowed_methods        = ["GET", "HEAD", "OPTIONS"]
    cached_methods         = ["GET", "HEAD"]
    compress               = false # fMP4 does not compress
    trusted_key_groups     = [aws_cloudfront_key_group.signing.id]
    cache_policy_id        = var.cache_policies ? aws_cloudfront_cache_policy.segments[0].id : null
    min_ttl                = var.cache_policies ? null : local.year
    default_ttl            = var.cache_policies ? null : local.year
    max_ttl                = var.cache_policies ? null : local.year
    dynamic "forwarded_values" {
      for_each = var.cache_policies ? [] : [1]
      content {
        query_string = false
        cookies {
          forward = "none"
        }
      }
    }
  }

  # Everything else (/play/ minting cookies, /api/, /watch/, static assets): not cached, every
  # header (Authorization), cookie and query string forwarded to vodstack.
  default_cache_behavior {
    target_origin_id       = local.origin_id
    viewer_protocol_policy = "redirect-to-https"
    allowed_methods        = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
    cached_methods         = ["GET", "HEAD"]
    compress               = true
    min_ttl                = 0
    default_ttl            = 0
    max_ttl                = 0
    forwarded_values {
      query_string = true
      headers      = ["*"]
      cookies {
        forward = "all"
      }
    }
  }

  restrictions {
    geo_restriction {
      restriction_type = "none" # geo rules are vodstack's (entitlement), per asset
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = var.acm_certificate_arn == ""
    acm_certificate_arn            = var.acm_certificate_arn == "" ? null : var.acm_certificate_arn
    ssl_support_method             = var.acm_certificate_arn == "" ? null : "sni-only"
    minimum_protocol_version       = var.acm_certificate_arn == "" ? "TLSv1" : "TLSv1.2_2021"
  }
}
