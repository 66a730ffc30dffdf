using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;
using Xunit;

namespace MailActors.Cluster.Tests.Infrastructure;

/// <summary>Services integration tests start for real; missing binaries skip the test unless CI requires them.</summary>
public static class RequiredServices
{
    public static bool Required => Environment.GetEnvironmentVariable("MAILACTORS_REQUIRE_SERVICES") == "1";

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static string Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = "/tmp" };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {p.ExitCode}: {stderr.Result}{stdout.Result}");
        return stdout.Result;
    }
}

/// <summary>Skips a test whose PostgreSQL binaries are missing, unless MAILACTORS_REQUIRE_SERVICES=1.</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (PostgresServer.BinDirectory is null && !RequiredServices.Required)
            Skip = "PostgreSQL server binaries (initdb, pg_ctl) not found; apt-get install postgresql";
    }
}

/// <summary>A throwaway PostgreSQL cluster: initdb + pg_ctl in a temp dir on a free loopback port.</summary>
public sealed class PostgresServer : IDisposable
{
    private readonly string _dir;
    private readonly string _bin;
    private readonly bool _asPostgresUser = Environment.UserName == "root";

    public static string? BinDirectory { get; } = FindBin();

    public int Port { get; } = RequiredServices.FreePort();

    public PostgresServer()
    {
        _bin = BinDirectory ?? throw new InvalidOperationException("PostgreSQL server binaries are required (MAILACTORS_REQUIRE_SERVICES=1) but initdb/pg_ctl were not found; apt-get install postgresql");
        _dir = Directory.CreateTempSubdirectory("pg.").FullName;
        if (_asPostgresUser) RequiredServices.Run("chown", "postgres:postgres", _dir);
        Pg("initdb", "-D", $"{_dir}/data", "--auth=trust", "-U", "test", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync");
        // fsync stays on: the journal's durability is part of what the tests exercise.
        Pg("pg_ctl", "-D", $"{_dir}/data", "-l", $"{_dir}/server.log", "-w", "-t", "30",
            "-o", $"-p {Port} -k {_dir} -c listen_addresses=127.0.0.1", "start");
    }

    public string ConnectionString(string database = "postgres") =>
        $"Host=127.0.0.1;Port={Port};Username=test;Database={database};Pooling=true";

    public string CreateDatabase()
    {
        var name = "t" + Guid.NewGuid().ToString("N")[..12];
        using var connection = new NpgsqlConnection(ConnectionString());
        connection.Open();
        using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        command.ExecuteNonQuery();
        return ConnectionString(name);
    }

    private void Pg(string tool, params string[] args)
    {
        var path = Path.Combine(_bin, tool);
        if (_asPostgresUser) RequiredServices.Run("runuser", ["-u", "postgres", "--", path, .. args]);
        else RequiredServices.Run(path, args);
    }

    public void Dispose()
    {
        NpgsqlConnection.ClearAllPools();
        try { Pg("pg_ctl", "-D", $"{_dir}/data", "-m", "fast", "-w", "stop"); }
        finally { Directory.Delete(_dir, recursive: true); }
    }

    private static string? FindBin()
    {
        const string root = "/usr/lib/postgresql";
        if (!Directory.Exists(root)) return null;
        return Directory.GetDirectories(root)
            .Select(d => Path.Combine(d, "bin"))
            .Where(b => File.Exists(Path.Combine(b, "initdb")) && File.Exists(Path.Combine(b, "pg_ctl")))
            .OrderByDescending(b => int.TryParse(Path.GetFileName(Path.GetDirectoryName(b)), out var v) ? v : 0)
            .FirstOrDefault();
    }
}
