# Optional: runs the detector in the cloud next to the backend, on a private IP in the VNet.
resource "azurerm_user_assigned_identity" "this" {
  count = var.enabled ? 1 : 0

  name                = "id-${var.name}-detector"
  location            = var.location
  resource_group_name = var.resource_group_name
  tags                = var.tags
}

resource "azurerm_role_assignment" "acr_pull" {
  count = var.enabled ? 1 : 0

  scope                = var.acr_id
  role_definition_name = "AcrPull"
  principal_id         = azurerm_user_assigned_identity.this[0].principal_id
}

resource "azurerm_role_assignment" "key_vault_secrets_user" {
  count = var.enabled ? 1 : 0

  scope                = var.key_vault_id
  role_definition_name = "Key Vault Secrets User"
  principal_id         = azurerm_user_assigned_identity.this[0].principal_id
}

resource "azurerm_container_group" "this" {
  count = var.enabled ? 1 : 0

  name                = "ci-${var.name}-detector"
  location            = var.location
  resource_group_name = var.resource_group_name
  os_type             = "Linux"
  ip_address_type     = "Private"
  subnet_ids          = [var.subnet_id]
  restart_policy      = "Always"
  tags                = var.tags

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.this[0].id]
  }

  image_registry_credential {
    server                    = var.acr_login_server
    user_assigned_identity_id = azurerm_user_assigned_identity.this[0].id
  }

  container {
    name   = "spy-detector"
    image  = "${var.acr_login_server}/spy-detector:${var.image_tag}"
    cpu    = var.cpu
    memory = var.memory_gb
    # Mostly not secrets, but kept out of the portal and ARM exports all the same. The detector
    # signs in to Key Vault with this identity (ManagedIdentityCredential, by client ID).
    secure_environment_variables = merge(
      var.environment_variables,
      var.secure_environment_variables,
      { SPY_DETECTOR_MANAGED_IDENTITY_CLIENT_ID = azurerm_user_assigned_identity.this[0].client_id },
    )

    ports {
      port     = 8080
      protocol = "TCP"
    }

    liveness_probe {
      period_seconds    = 10
      failure_threshold = 3
      http_get {
        path = "/health"
        port = 8080
      }
    }

    readiness_probe {
      period_seconds    = 10
      failure_threshold = 3
      http_get {
        path = "/ready"
        port = 8080
      }
    }
  }

  depends_on = [azurerm_role_assignment.acr_pull, azurerm_role_assignment.key_vault_secrets_user]
}
