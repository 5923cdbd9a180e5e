# Remote state for prod: terraform init -backend-config=backend.hcl
# The state account is created once by hand (see infra/README.md) and is not managed here.
resource_group_name  = "rg-spyh-tfstate"
storage_account_name = "stspyhtfstate"
container_name       = "tfstate-prod"
key                  = "spy-hybrid.tfstate"
use_azuread_auth     = true
