"""Throwaway TLS material for tests and the embedded server: a CA, a server and a client certificate.

Everything is generated on the spot (with the ``cryptography`` package when it is installed, else the
``openssl`` command) into a directory the caller owns; nothing here ships a private key.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import subprocess
from dataclasses import dataclass


@dataclass(frozen=True)
class CertFiles:
    """Paths of the generated PEM files."""

    ca_cert: str
    ca_key: str
    server_cert: str
    server_key: str
    client_cert: str
    client_key: str

    def server_config(self, **extra: str) -> dict[str, str]:
        """``tls-*`` directives for a server using these files."""
        return {"tls-cert-file": self.server_cert, "tls-key-file": self.server_key,
                "tls-ca-cert-file": self.ca_cert, **extra}


def generate(directory: str, hosts: tuple[str, ...] = ("localhost", "127.0.0.1", "::1"),
             client_cn: str = "client") -> CertFiles:
    """Write a CA, a server certificate for *hosts* and a client certificate into *directory*."""
    os.makedirs(directory, exist_ok=True)
    files = CertFiles(*(os.path.join(directory, n) for n in
                        ("ca.crt", "ca.key", "server.crt", "server.key", "client.crt", "client.key")))
    try:
        _with_cryptography(files, hosts, client_cn)
    except ImportError:
        if shutil.which("openssl") is None:
            raise RuntimeError("generating TLS certificates needs the 'cryptography' package or openssl") from None
        _with_openssl(files, hosts, client_cn, directory)
    return files


def _with_cryptography(files: CertFiles, hosts: tuple[str, ...], client_cn: str) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "pyredis test"),
                          x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def write_key(path: str, key: ec.EllipticCurvePrivateKey) -> None:
        with open(path, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        os.chmod(path, 0o600)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("pyredis test CA")).issuer_name(name("pyredis test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    write_key(files.ca_key, ca_key)
    with open(files.ca_cert, "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))

    def leaf(cn: str, usage: list[x509.ObjectIdentifier], cert_path: str, key_path: str, sans: list) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        b = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(ca.subject).public_key(key.public_key())
             .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
             .not_valid_after(now + datetime.timedelta(days=2))
             .add_extension(x509.ExtendedKeyUsage(usage), critical=False))
        if sans:
            b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        write_key(key_path, key)
        with open(cert_path, "wb") as f:
            f.write(b.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))

    sans: list = []
    for h in hosts:
        sans.append(x509.IPAddress(ipaddress.ip_address(h)) if _is_ip(h) else x509.DNSName(h))
    # The server certificate also authenticates a server's outgoing replication and cluster links
    # (Redis falls back to tls-cert-file when no tls-client-cert-file is set).
    leaf("localhost", [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH], files.server_cert,
         files.server_key, sans)
    leaf(client_cn, [ExtendedKeyUsageOID.CLIENT_AUTH], files.client_cert, files.client_key, [])


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _with_openssl(files: CertFiles, hosts: tuple[str, ...], client_cn: str, directory: str) -> None:
    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
        "-keyout", files.ca_key, "-out", files.ca_cert, "-subj", "/O=pyredis test/CN=pyredis test CA")
    san = ",".join(("IP:" if _is_ip(h) else "DNS:") + h for h in hosts)
    for cn, cert, key, ext in (("localhost", files.server_cert, files.server_key,
                                f"subjectAltName={san}\nextendedKeyUsage=serverAuth,clientAuth"),
                               (client_cn, files.client_cert, files.client_key, "extendedKeyUsage=clientAuth")):
        csr = os.path.join(directory, cn + ".csr")
        extfile = os.path.join(directory, cn + ".ext")
        with open(extfile, "w") as f:
            f.write(ext + "\n")
        run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr,
            "-subj", f"/O=pyredis test/CN={cn}")
        run("x509", "-req", "-in", csr, "-CA", files.ca_cert, "-CAkey", files.ca_key, "-CAcreateserial",
            "-days", "2", "-out", cert, "-extfile", extfile)
