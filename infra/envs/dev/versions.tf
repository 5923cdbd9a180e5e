terraform {
  required_version = ">= 1.9.0, < 2.0.0"

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "~> 4.40"
    }
  }

  # Remote state in Azure Storage (Entra ID auth, no access keys). The account, container and key
  # come from backend.hcl: terraform init -backend-config=backend.hcl. One workspace per
  # environment: terraform workspace select -or-create=true <environment>.
  backend "azurerm" {}
}

provider "azurerm" {
  # The subscription comes from ARM_SUBSCRIPTION_ID; credentials from OIDC (ARM_USE_OIDC) in CI.
  storage_use_azuread = true

  features {
    key_vault {
      purge_soft_delete_on_destroy    = false
      recover_soft_deleted_key_vaults = true
    }

    resource_group {
      prevent_deletion_if_contains_resources = true
    }
  }
}
