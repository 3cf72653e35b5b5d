variable "name" {
  description = "Prefix of every resource name (lower-case letters, digits, '-')."
  type        = string
  default     = "vodstack"
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,30}$", var.name))
    error_message = "name: 2-31 lower-case letters, digits or '-'."
  }
}

variable "region" {
  description = "Region of the bucket, the KMS key and the vodstack nodes."
  type        = string
  default     = "eu-west-1"
}

variable "origin_domain" {
  description = "Public DNS name of vodstack's origin (or shield) load balancer, reached over HTTPS."
  type        = string
}

variable "origin_secret" {
  description = "Secret CloudFront sends to the origin in origin_secret_header (VODSTACK_ORIGIN_SECRETS on the origin); the origin refuses requests without it."
  type        = string
  sensitive   = true
  validation {
    condition     = length(var.origin_secret) >= 32
    error_message = "origin_secret: at least 32 characters (e.g. openssl rand -base64 32)."
  }
}

variable "origin_secret_header" {
  description = "Header carrying the origin secret (VODSTACK_ORIGIN_SECRET_HEADER)."
  type        = string
  default     = "X-Vodstack-Origin-Secret"
}

variable "signing_public_keys" {
  description = "Public keys of vodstack's signing keys (`vodstack keys list --json`: public_key_pem), by a name of your choice. During a rotation list both the old and the new key."
  type        = map(string)
  validation {
    condition     = length(var.signing_public_keys) > 0 && alltrue([for pem in values(var.signing_public_keys) : can(regex("BEGIN PUBLIC KEY", pem))])
    error_message = "signing_public_keys: at least one PEM public key (-----BEGIN PUBLIC KEY-----)."
  }
}

variable "storage_prefix" {
  description = "Key prefix of vodstack's objects in the bucket (VODSTACK_STORAGE_URL=s3://BUCKET/PREFIX)."
  type        = string
  default     = "vod"
}

variable "masters_cold_after_days" {
  description = "Days after which masters (kept for re-transcodes) move to masters_cold_storage_class."
  type        = number
  default     = 30
}

variable "masters_cold_storage_class" {
  description = "Cold tier of masters. GLACIER_IR keeps them readable at once (a re-transcode needs no restore); DEEP_ARCHIVE is cheaper but needs a restore first."
  type        = string
  default     = "GLACIER_IR"
  validation {
    condition     = contains(["STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"], var.masters_cold_storage_class)
    error_message = "masters_cold_storage_class: an S3 storage class."
  }
}

variable "manifest_ttl_seconds" {
  description = "CloudFront TTL of manifests (match VODSTACK_MANIFEST_MAX_AGE_S)."
  type        = number
  default     = 2
}

variable "aliases" {
  description = "Viewer-facing host names (CNAMEs) of the distribution; needs acm_certificate_arn."
  type        = list(string)
  default     = []
}

variable "acm_certificate_arn" {
  description = "ACM certificate (us-east-1) for aliases; empty: the cloudfront.net certificate."
  type        = string
  default     = ""
}

variable "price_class" {
  description = "CloudFront price class."
  type        = string
  default     = "PriceClass_100"
}

variable "mint_rate_limit" {
  description = "WAF: requests per 5 minutes one IP may send to /play/ (minting cookies)."
  type        = number
  default     = 300
}

variable "playback_rate_limit" {
  description = "WAF: requests per 5 minutes one IP may send to /v1/ (manifests and segments)."
  type        = number
  default     = 20000
}

# Switches for test endpoints that lack a service (moto_server: see tests/e2e/test_terraform.py).
variable "enable_waf" {
  description = "Create the WAF web ACL with the rate rules and attach it to the distribution."
  type        = bool
  default     = true
}

variable "enable_origin_shield" {
  description = "Put CloudFront Origin Shield in front of the origin (one regional cache layer)."
  type        = bool
  default     = true
}

variable "cache_policies" {
  description = "Use CloudFront cache policies; false falls back to legacy forwarded_values with the same TTLs and cache keys (for endpoints without the cache-policy API)."
  type        = bool
  default     = true
}

variable "wait_for_deployment" {
  description = "Wait until the distribution is deployed to every edge location."
  type        = bool
  default     = true
}
