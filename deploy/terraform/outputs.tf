# What the infrastructure means for vodstack's settings (env of every node; docs/deploy.md).

output "vodstack_settings" {
  description = "VODSTACK_* settings for the nodes (the origin secret is the origin_secret variable: VODSTACK_ORIGIN_SECRETS='[\"…\"]')."
  value = {
    VODSTACK_STORAGE_URL          = "s3://${aws_s3_bucket.media.bucket}/${var.storage_prefix}"
    VODSTACK_PUBLIC_URL           = "https://${length(var.aliases) > 0 ? var.aliases[0] : aws_cloudfront_distribution.vod.domain_name}"
    VODSTACK_ORIGIN_SECRET_HEADER = var.origin_secret_header
    VODSTACK_MANIFEST_MAX_AGE_S   = tostring(var.manifest_ttl_seconds)
    AWS_REGION                    = var.region
  }
}

output "cloudfront_key_ids" {
  description = "CloudFront public key id of each signing key (the Key-Pair-Id CloudFront expects)."
  value       = { for name, k in aws_cloudfront_public_key.signing : name => k.id }
}

output "distribution_domain" {
  value = aws_cloudfront_distribution.vod.domain_name
}

output "distribution_id" {
  value = aws_cloudfront_distribution.vod.id
}

output "bucket" {
  value = aws_s3_bucket.media.bucket
}

output "kms_key_arn" {
  description = "Grant the nodes' IAM role kms:Decrypt/GenerateDataKey on this key."
  value       = aws_kms_key.media.arn
}

output "web_acl_arn" {
  value = var.enable_waf ? aws_wafv2_web_acl.edge[0].arn : null
}
