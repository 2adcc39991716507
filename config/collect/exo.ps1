# mailflow collect exo: gathers the Exchange Online side of hybrid mail flow (inbound and
# outbound connectors, accepted domains) into one JSON file. It only reads: every command is a
# Get-* cmdlet. Run it in Exchange Online PowerShell (after Connect-ExchangeOnline), then upload
# the file it names to the incident thread (or run: mailflow diagnose mailflow-exo.json).
$result = [ordered]@{
  InboundConnector = @(Get-InboundConnector | Select-Object @{n='Identity';e={[string]$_.Identity}}, Name, @{n='ConnectorType';e={[string]$_.ConnectorType}}, Enabled, RequireTls, @{n='TlsSenderCertificateName';e={[string]$_.TlsSenderCertificateName}}, @{n='SenderDomains';e={@($_.SenderDomains | ForEach-Object { [string]$_ })}}, @{n='SenderIPAddresses';e={@($_.SenderIPAddresses | ForEach-Object { [string]$_ })}}, RestrictDomainsToCertificate, CloudServicesMailEnabled)
  OutboundConnector = @(Get-OutboundConnector | Select-Object @{n='Identity';e={[string]$_.Identity}}, Name, @{n='ConnectorType';e={[string]$_.ConnectorType}}, Enabled, @{n='SmartHosts';e={@($_.SmartHosts | ForEach-Object { [string]$_ })}}, @{n='TlsSettings';e={[string]$_.TlsSettings}}, @{n='TlsDomain';e={[string]$_.TlsDomain}}, @{n='RecipientDomains';e={@($_.RecipientDomains | ForEach-Object { [string]$_ })}}, UseMXRecord, CloudServicesMailEnabled)
  AcceptedDomain = @(Get-AcceptedDomain | Select-Object @{n='DomainName';e={[string]$_.DomainName}}, @{n='DomainType';e={[string]$_.DomainType}}, Default)
}
$path = "$env:TEMP\mailflow-exo.json"
$result | ConvertTo-Json -Depth 5 | Out-File -FilePath $path -Encoding utf8
Write-Host "Wrote $path - upload it to the incident thread."
