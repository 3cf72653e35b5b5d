"""deploy/terraform: ``terraform validate``, and ``terraform apply`` against moto_server.

No registry is reachable: the AWS provider comes from a local plugin directory
(``VODSTACK_TF_PLUGIN_DIR``, default /opt/tf-plugins, laid out as a filesystem mirror).
Where terraform or the provider is absent the tests skip and say why.

moto implements what the module creates (S3 with Block Public Access, SSE-KMS and lifecycle,
KMS, CloudFront public keys, key groups and distributions with Origin Shield, WAFv2 web ACLs)
except the CloudFront cache-policy API: the apply runs with ``cache_policies=false`` (legacy
``forwarded_values`` with the same TTLs and path-only cache keys); ``validate`` covers the
cache policies. The provider's endpoints point at moto through a Terraform override file, so
the module itself carries no test settings.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.moto import MotoS3, moto_s3  # noqa: F401 - the session fixture
from vodstack.entitlement.keys import generate_private_key, public_key_pem

MODULE = Path(__file__).resolve().parents[2] / "deploy" / "terraform"
PLUGIN_DIR = Path(os.environ.get("VODSTACK_TF_PLUGIN_DIR", "/opt/tf-plugins"))
ORIGIN_SECRET = "0123456789abcdef0123456789abcdef-secret"

OVERRIDE = """
provider "aws" {{
  region = var.region
  {common}
}}
provider "aws" {{
  alias  = "us_east_1"
  region = "us-east-1"
  {common}
}}
"""
COMMON = """
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  s3_use_path_style           = true
  endpoints {{
    s3         = "{url}"
    kms        = "{url}"
    cloudfront = "{url}"
    wafv2      = "{url}"
    sts        = "{url}"
  }}
"""


def _terraform() -> str:
    exe = shutil.which("terraform")
    if exe is None:
        pytest.skip("terraform is not installed: deploy/terraform not checked")
    if not (PLUGIN_DIR / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
        pytest.skip(f"no hashicorp/aws provider under {PLUGIN_DIR} (VODSTACK_TF_PLUGIN_DIR)")
    return exe


def _run(workdir: Path, *args: str, timeout: float = 300) -> str:
    env = {
        **os.environ,
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "TF_CLI_CONFIG_FILE": str(workdir / "empty.tfrc"),  # no user config, no registry
        "CHECKPOINT_DISABLE": "1",
    }
    (workdir / "empty.tfrc").touch()
    proc = subprocess.run(
        [_terraform(), *args, "-no-color"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, (
        f"terraform {args[0]} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    return proc.stdout


def _module_copy(tmp_path: Path) -> Path:
    work = tmp_path / "tf"
    work.mkdir()
    for tf in MODULE.glob("*.tf"):
        shutil.copy(tf, work / tf.name)
    _run(work, "init", "-backend=false", f"-plugin-dir={PLUGIN_DIR}")
    return work


def test_terraform_module_validates(tmp_path: Path) -> None:
    work = _module_copy(tmp_path)
    assert "Success" in _run(work, "validate")
    _run(work, "fmt", "-check", "-recursive")


@pytest.mark.slow
@pytest.mark.services
def test_terraform_apply_against_moto(tmp_path: Path, moto_s3: MotoS3) -> None:  # noqa: F811
    work = _module_copy(tmp_path)
    common = COMMON.format(url=moto_s3.endpoint_url)
    (work / "moto_override.tf").write_text(OVERRIDE.format(common=common))
    pem = public_key_pem(generate_private_key("rsa"))  # what `vodstack keys list` shows
    variables = {
        "name": "vodtest",
        "origin_domain": "origin.vod.example",
        "origin_secret": ORIGIN_SECRET,
        "signing_public_keys": {"k1": pem},
        "cache_policies": False,  # moto has no CloudFront cache-policy API
        "wait_for_deployment": False,
    }
    (work / "test.tfvars.json").write_text(json.dumps(variables))
    _run(work, "apply", "-auto-approve", "-var-file=test.tfvars.json", timeout=480)
    outputs = json.loads(_run(work, "output", "-json"))
    settings = outputs["vodstack_settings"]["value"]
    bucket = outputs["bucket"]["value"]
    assert settings["VODSTACK_STORAGE_URL"] == f"s3://{bucket}/vod"
    assert settings["VODSTACK_PUBLIC_URL"] == f"https://{outputs['distribution_domain']['value']}"

    s3 = moto_s3.client()
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    sse = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert sse["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert (
        sse["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"]
        == outputs["kms_key_arn"]["value"]
    )
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    cold = rules["masters-to-cold-tier"]
    assert cold["Filter"]["Prefix"] == "vod/masters/"
    assert cold["Transitions"] == [{"Days": 30, "StorageClass": "GLACIER_IR"}]

    cf = _aws(moto_s3, "cloudfront")
    config = cf.get_distribution(Id=outputs["distribution_id"]["value"])["Distribution"][
        "DistributionConfig"
    ]
    origin = config["Origins"]["Items"][0]
    headers = {h["HeaderName"]: h["HeaderValue"] for h in origin["CustomHeaders"]["Items"]}
    assert headers == {"X-Vodstack-Origin-Secret": ORIGIN_SECRET}
    assert origin["OriginShield"]["Enabled"] is True
    behaviours = {b["PathPattern"]: b for b in config["CacheBehaviors"]["Items"]}
    assert set(behaviours) == {"/v1/*.m3u8", "/v1/*.mpd", "/v1/*"}
    key_id = outputs["cloudfront_key_ids"]["value"]["k1"]
    group_id = cf.list_key_groups()["KeyGroupList"]["Items"][0]["KeyGroup"]["Id"]
    group = cf.get_key_group(Id=group_id)["KeyGroup"]["KeyGroupConfig"]
    assert group["Items"] == [key_id]
    assert (
        cf.get_public_key(Id=key_id)["PublicKey"]["PublicKeyConfig"]["EncodedKey"].strip()
        == pem.strip()
    )
    for pattern, behaviour in behaviours.items():
        assert behaviour["TrustedKeyGroups"]["Items"] == [group_id], pattern
        assert behaviour["ForwardedValues"]["Cookies"]["Forward"] == "none", pattern
        assert behaviour["ForwardedValues"]["QueryString"] is False, pattern
    assert behaviours["/v1/*.m3u8"]["MaxTTL"] == 2
    assert behaviours["/v1/*"]["MinTTL"] == 31536000
    assert config["WebACLId"] == outputs["web_acl_arn"]["value"]

    waf = _aws(moto_s3, "wafv2", region="us-east-1")
    acl_id = outputs["web_acl_arn"]["value"].rsplit("/", 1)[1]
    acl = waf.get_web_acl(Name="vodtest-edge", Scope="CLOUDFRONT", Id=acl_id)["WebACL"]
    limits = {
        r["Statement"]["RateBasedStatement"]["ScopeDownStatement"]["ByteMatchStatement"][
            "SearchString"
        ]: r["Statement"]["RateBasedStatement"]["Limit"]
        for r in acl["Rules"]
    }
    assert limits == {b"/play/": 300, b"/v1/": 20000}


def _aws(moto: MotoS3, service: str, region: str | None = None) -> Any:
    import boto3

    return boto3.client(
        service,
        endpoint_url=moto.endpoint_url,
        aws_access_key_id=moto.access_key_id,
        aws_secret_access_key=moto.secret_access_key,
        region_name=region or moto.region,
    )
