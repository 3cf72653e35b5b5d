# vodstack on AWS: private media bucket, KMS, CloudFront with a trusted key group in front of
# vodstack's origin (or shield) role, cache policies, Origin Shield, a WAF rate rule.
# See docs/deploy.md for the walk-through and for what the outputs become.

terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0, < 6.0"
    }
  }
}

provider "aws" {
  region = var.region
}

# CloudFront-scoped WAF ACLs (and ACM certificates for CloudFront) live in us-east-1 only.
provider "aws" {
  alias  = "us_east_1"
  region = "us-east-1"
}
