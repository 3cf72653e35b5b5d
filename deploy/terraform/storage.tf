# The media bucket: masters (kept for re-transcodes) and the packaged CMAF ladder, both private.
# Viewers never reach it: vodstack's origin reads it with its instance role.

resource "aws_kms_key" "media" {
  description             = "${var.name}: media bucket (SSE-KMS)"
  deletion_window_in_days = 30
  enable_key_rotation     = true
}

resource "aws_kms_alias" "media" {
  name          = "alias/${var.name}-media"
  target_key_id = aws_kms_key.media.key_id
}

resource "aws_s3_bucket" "media" {
  bucket_prefix = "${var.name}-media-"
}

resource "aws_s3_bucket_public_access_block" "media" {
  bucket                  = aws_s3_bucket.media.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "media" {
  bucket = aws_s3_bucket.media.id
  rule {
    object_ownership = "BucketOwnerEnforced" # ACLs off: access is IAM only
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "media" {
  bucket = aws_s3_bucket.media.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.media.arn
    }
    bucket_key_enabled = true # one KMS call per bucket key, not per object
  }
}

resource "aws_s3_bucket_versioning" "media" {
  bucket = aws_s3_bucket.media.id
  versioning_configuration {
    status = "Enabled" # a deleted or overwritten master can be recovered
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "media" {
  bucket     = aws_s3_bucket.media.id
  depends_on = [aws_s3_bucket_versioning.media]

  rule {
    id     = "masters-to-cold-tier"
    status = "Enabled"
    filter {
      prefix = "${var.storage_prefix}/masters/"
    }
    transition {
      days          = var.masters_cold_after_days
      storage_class = var.masters_cold_storage_class
    }
  }

  rule {
    id     = "old-versions-and-partial-uploads"
    status = "Enabled"
    filter {
      prefix = "${var.storage_prefix}/"
    }
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 2
    }
  }
}
