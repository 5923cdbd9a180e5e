"""Wire-level fake of Azure Key Vault secrets, with a loopback managed identity, over TLS."""
