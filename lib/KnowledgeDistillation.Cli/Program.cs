using System.CommandLine;
using KnowledgeDistillation.Cli;
using KnowledgeDistillation.Runtime;

TorchNative.EnsureLoaded();

var root = new RootCommand("kd: knowledge distillation with TorchSharp. Run 'kd <command> --help' for a command's options.");
root.Subcommands.Add(InfoCommand.Create());
root.Subcommands.Add(TrainTeacherCommand.Create());
root.Subcommands.Add(EvalCommand.Create());
root.Subcommands.Add(DistillCommand.Create());
root.Subcommands.Add(ReproduceCommand.Create());
root.Subcommands.Add(BenchmarkCommand.Create());
root.Subcommands.Add(NotebooksCommand.Create());
return Cli.Run(root, args);
