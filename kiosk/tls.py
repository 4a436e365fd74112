"""TLS on every hop of a hall's LAN, without a public certificate authority.

``kiosk hall tls init`` makes the hall's own small CA and a server certificate for the hall service,
signed by it, for the names and addresses the devices use. Devices trust only that CA (the file they
receive when enrolled), so a laptop on the hall's network cannot pose as the hall. The ledger's own
certificate comes from the province (any CA file works the same way).
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kiosk.urls import UrlRefused, check_url

CA_YEARS = 10
SERVER_YEARS = 2


@dataclass(frozen=True)
class TlsFiles:
    ca_cert: Path
    ca_key: Path
    cert: Path
    key: Path


def files_in(secrets_dir: Path) -> TlsFiles:
    # tls-*: beside (never over) the hall's master key, secrets/hall.key
    return TlsFiles(secrets_dir / "tls-ca.pem", secrets_dir / "tls-ca.key", secrets_dir / "tls-server.pem",
                    secrets_dir / "tls-server.key")


def _fit(text: str, limit: int = 64) -> str:
    """X.509 name attributes hold at most 64 bytes: a long Chinese hall name is cut, not refused."""
    while len(text.encode()) > limit:
        text = text[:-1]
    return text


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def init_ca(secrets_dir: Path, hall_name: str, names: list[str], now: datetime) -> TlsFiles:
    """The hall's CA (made once, kept) and a fresh server certificate for ``names`` (host names or IPs;
    localhost and 127.0.0.1 are always included, for the embedded apps and the technician's checks)."""
    files = files_in(secrets_dir)
    if files.ca_key.exists() and files.ca_cert.exists():
        ca_key = serialization.load_pem_private_key(files.ca_key.read_bytes(), None)
        assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
        ca_cert = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    else:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, _fit(f"{hall_name} 大厅内网 CA"))])
        ca_cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                   .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=365 * CA_YEARS))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                content_commitment=False, key_encipherment=False,
                                                data_encipherment=False, key_agreement=False,
                                                encipher_only=False, decipher_only=False), critical=True)
                   .sign(ca_key, hashes.SHA256()))
        _write_private(files.ca_key, _key_pem(ca_key))
        files.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    key = ec.generate_private_key(ec.SECP256R1())
    alt: list[x509.GeneralName] = []
    for name in dict.fromkeys([*names, "localhost", "127.0.0.1"]):
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt.append(x509.DNSName(name))
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0] if names else "localhost")]))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=365 * SERVER_YEARS))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    _write_private(files.key, _key_pem(key))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return files


def is_loopback(url: str) -> bool:
    try:
        return check_url(url, insecure=True).loopback
    except UrlRefused:
        return False


PlainHttpRefused = UrlRefused  # the name sync and its tests knew; the check is kiosk/urls.py's


def check_transport(url: str, insecure: bool) -> None:
    """Plain http to a ledger off this machine is refused unless the operator says --insecure (kiosk/urls.py)."""
    check_url(url, insecure)
