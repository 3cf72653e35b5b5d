from tests.fixtures.moto import moto_s3  # noqa: F401 - re-exported fixture
from tests.unit.storage.conftest import bucket, make_s3_store, s3_client  # noqa: F401
from tests.unit.storage.test_s3_checks import s3_env  # noqa: F401
