# mailflow collect onprem: gathers the Exchange configuration that decides hybrid TLS (every
# server's certificates and receive connectors, the send connectors, the hybrid configuration,
# the accepted domains) into one JSON file. It only reads: every command is a Get-* cmdlet.
# Run it in the Exchange Management Shell of any Exchange server, then upload the file it names
# to the incident thread (or run: mailflow diagnose mailflow-onprem.json).
$servers = @(Get-ExchangeServer | Where-Object { $_.IsMailboxServer -or $_.IsClientAccessServer -or $_.IsHubTransportServer })
$result = [ordered]@{
  ExchangeCertificate = @($servers | ForEach-Object {
    $server = $_.Name
    Get-ExchangeCertificate -Server $server | Select-Object @{n='Server';e={$server}}, Thumbprint, @{n='Subject';e={[string]$_.Subject}}, @{n='Issuer';e={[string]$_.Issuer}}, @{n='CertificateDomains';e={@($_.CertificateDomains | ForEach-Object { [string]$_ })}}, @{n='NotAfter';e={$_.NotAfter.ToUniversalTime().ToString('o')}}, @{n='NotBefore';e={$_.NotBefore.ToUniversalTime().ToString('o')}}, @{n='Services';e={[string]$_.Services}}, @{n='Status';e={[string]$_.Status}}, IsSelfSigned, HasPrivateKey, FriendlyName
  })
  ReceiveConnector = @($servers | ForEach-Object {
    Get-ReceiveConnector -Server $_.Name | Select-Object @{n='Identity';e={[string]$_.Identity}}, Name, @{n='Server';e={[string]$_.Server}}, @{n='Bindings';e={@($_.Bindings | ForEach-Object { [string]$_ })}}, @{n='Fqdn';e={[string]$_.Fqdn}}, @{n='TransportRole';e={[string]$_.TransportRole}}, @{n='TlsCertificateName';e={[string]$_.TlsCertificateName}}, @{n='TlsDomainCapabilities';e={@($_.TlsDomainCapabilities | ForEach-Object { [string]$_ })}}, @{n='AuthMechanism';e={[string]$_.AuthMechanism}}, @{n='PermissionGroups';e={[string]$_.PermissionGroups}}, Enabled
  })
  SendConnector = @(Get-SendConnector | Select-Object @{n='Identity';e={[string]$_.Identity}}, Name, @{n='AddressSpaces';e={@($_.AddressSpaces | ForEach-Object { [string]$_ })}}, @{n='SmartHosts';e={@($_.SmartHosts | ForEach-Object { [string]$_ })}}, @{n='SourceTransportServers';e={@($_.SourceTransportServers | ForEach-Object { [string]$_ })}}, @{n='Fqdn';e={[string]$_.Fqdn}}, RequireTLS, @{n='TlsAuthLevel';e={[string]$_.TlsAuthLevel}}, @{n='TlsDomain';e={[string]$_.TlsDomain}}, CloudServicesMailEnabled, @{n='TlsCertificateName';e={[string]$_.TlsCertificateName}}, Enabled)
  HybridConfiguration = @(Get-HybridConfiguration | Select-Object @{n='Identity';e={[string]$_.Identity}}, @{n='OnPremisesSmartHost';e={[string]$_.OnPremisesSmartHost}}, @{n='ReceivingTransportServers';e={@($_.ReceivingTransportServers | ForEach-Object { [string]$_ })}}, @{n='SendingTransportServers';e={@($_.SendingTransportServers | ForEach-Object { [string]$_ })}}, @{n='Domains';e={@($_.Domains | ForEach-Object { [string]$_ })}}, @{n='TlsCertificateName';e={[string]$_.TlsCertificateName}}, @{n='Features';e={@($_.Features | ForEach-Object { [string]$_ })}})
  AcceptedDomain = @(Get-AcceptedDomain | Select-Object @{n='DomainName';e={[string]$_.DomainName}}, @{n='DomainType';e={[string]$_.DomainType}}, Default)
}
$path = "$env:TEMP\mailflow-onprem.json"
$result | ConvertTo-Json -Depth 5 | Out-File -FilePath $path -Encoding utf8
Write-Host "Wrote $path - upload it to the incident thread."
