using System.CommandLine;
using KnowledgeDistillation.Cli;
using KnowledgeDistillation.Runtime;

TorchNative.EnsureLoaded();

var root = new RootCommand("kd: knowledge distillation with TorchSharp. Run 'kd <command> --help' for a command's options.");
root.Subcommands.Add(InfoCommand.Create());
return root.Parse(args).Invoke();
