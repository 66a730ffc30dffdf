#!/usr/bin/env pwsh
# The same targets as the README's commands, for PowerShell users:
#   dotnet tool restore; dotnet pwsh build.ps1 build|test|run|bench [extra args]
param(
    [Parameter(Position = 0)]
    [ValidateSet('build', 'test', 'run', 'bench')]
    [string] $Target = 'build',
    [Parameter(Position = 1, ValueFromRemainingArguments = $true)]
    [string[]] $Rest = @()
)
$ErrorActionPreference = 'Stop'
Set-Location $PSScriptRoot

switch ($Target) {
    'build' { dotnet build }
    'test'  { dotnet test @Rest }
    'run'   { dotnet run --project src/MailActors.Node -- @Rest }
    'bench' { dotnet run -c Release --project bench/MailActors.Bench -- @Rest }
}
exit $LASTEXITCODE
