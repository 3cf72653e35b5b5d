# Rate rules per client IP on the two paths worth flooding: minting cookies (/play/) and
# playback (/v1/). vodstack has its own in-process limits too (VODSTACK_MINT_RATE_PER_MIN,
# VODSTACK_PLAYBACK_RATE_PER_S); the WAF stops a flood before it reaches the origin.

resource "aws_wafv2_web_acl" "edge" {
  count    = var.enable_waf ? 1 : 0
  provider = aws.us_east_1
  name     = "${var.name}-edge"
  scope    = "CLOUDFRONT"

  default_action {
    allow {}
  }

  dynamic "rule" {
    for_each = {
      mint     = { priority = 1, path = "/play/", limit = var.mint_rate_limit }
      playback = { priority = 2, path = "/v1/", limit = var.playback_rate_limit }
    }
    content {
      name     = "${var.name}-${rule.key}-rate"
      priority = rule.value.priority
      action {
        block {}
      }
      statement {
        rate_based_statement {
          limit              = rule.value.limit
          aggregate_key_type = "IP"
          scope_down_statement {
            byte_match_statement {
              search_string         = rule.value.path
              positional_constraint = "STARTS_WITH"
              field_to_match {
                uri_path {}
              }
              text_transformation {
                priority = 0
                type     = "NONE"
              }
            }
          }
        }
      }
      visibility_config {
        cloudwatch_metrics_enabled = true
        metric_name                = "${var.name}-${rule.key}-rate"
        sampled_requests_enabled   = true
      }
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = "${var.name}-edge"
    sampled_requests_enabled   = true
  }
}
