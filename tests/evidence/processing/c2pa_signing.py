"""Throwaway C2PA signing for tests: an ES256 CA and signer made now, never kept anywhere."""

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _name(common_name: str, org: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
        ]
    )


def _usage(*, sign: bool, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
        encipher_only=False, decipher_only=False,
    )  # fmt: skip


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class TestSigner:
    """A CA certificate (PEM) and a c2pa Signer whose certificate that CA issued."""

    ca_pem: bytes
    signer: c2pa.Signer
    common_name: str
    org: str

    def write_ca(self, directory: Path) -> Path:
        path = Path(directory) / "anchors.pem"
        path.write_bytes(self.ca_pem)
        return path

    def sign(self, source: Path, target: Path, *, generator: str = "canvass-tests") -> Path:
        """Sign `source` into `target` (the type comes from the file extension)."""
        manifest = {
            "claim_generator_info": [{"name": generator, "version": "1.0"}],
            "title": source.name,
            "assertions": [
                {
                    "label": "c2pa.actions",
                    "data": {
                        "actions": [
                            {
                                "action": "c2pa.created",
                                "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture",
                            }
                        ]
                    },
                }
            ],
        }
        with c2pa.Builder(manifest) as builder:
            builder.sign_file(source, target, self.signer)
        return target


def make_signer(common_name: str = "Test Camera", org: str = "Canvass Test CA") -> TestSigner:
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{org} root", org))
        .issuer_name(_name(f"{org} root", org))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_usage(sign=False, ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, org))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(sign=True, ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, _pem(cert) + _pem(ca), private, None)
    return TestSigner(
        ca_pem=_pem(ca), signer=c2pa.Signer.from_info(info), common_name=common_name, org=org
    )


def flip_content_byte(path: Path) -> Path:
    """Change one byte of the picture data (not the manifest) after signing."""
    data = bytearray(path.read_bytes())
    # Inside the video's mdat, or inside the JPEG's entropy-coded data before its EOI marker.
    at = data.find(b"mdat") + 64 if path.suffix in (".mp4", ".mov") else len(data) - 32
    data[at] ^= 0xFF
    target = path.with_name(f"tampered{path.suffix}")
    target.write_bytes(bytes(data))
    return target
